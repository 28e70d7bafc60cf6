// swift-tools-version: 6.1
// Kernel benchmarks (ordo-one/benchmark), a package of their own so that CI's `swift test` of the
// main package never builds them: `cd Benchmarks && swift package benchmark`.
import PackageDescription

let package = Package(
    name: "zen-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "zen-swift", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Kernels",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ZenTensor", package: "zen-swift"),
                .product(name: "ZenText", package: "zen-swift"),
            ],
            path: "Benchmarks/Kernels",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
