// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "zen-swift",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ZenText", targets: ["ZenText"]),
        .library(name: "ZenTensor", targets: ["ZenTensor"]),
        .library(name: "ZenModel", targets: ["ZenModel"]),
        .library(name: "ZenTraining", targets: ["ZenTraining"]),
        .library(name: "ZenServer", targets: ["ZenServer"]),
        .executable(name: "zen", targets: ["zen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.25.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // The GEMM engine: oneDNN (Debian's libdnnl-dev, Homebrew's onednn), every product in
        // fp32, bf16 and int8 on the kernels it picks for the CPU.
        .target(
            name: "CZenEngine",
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp", .when(platforms: [.linux]))]
        ),
        // The direct fp32 kernel for products of few rows, the allocator settings, the checkpoint loader's CRC-32.
        .target(name: "CZenKernels"),
        .target(name: "ZenTensor", dependencies: ["CZenEngine", "CZenKernels"]),
        // ZenTensor for SplitMix64, the project's one seeded generator (pre-training instances).
        .target(name: "ZenText", dependencies: ["ZenTensor"]),
        .target(name: "ZenModel", dependencies: ["ZenTensor", "ZenText", "CZenKernels"]),
        .target(name: "ZenTraining", dependencies: ["ZenTensor", "ZenText", "ZenModel"]),
        .target(
            name: "ZenServer",
            dependencies: [
                "CZenKernels",
                "ZenText",
                "ZenModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "zen",
            dependencies: [
                "ZenText",
                "ZenModel",
                "ZenTraining",
                "ZenServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ZenTensorTests", dependencies: ["ZenTensor"]),
        .testTarget(name: "ZenTextTests", dependencies: ["ZenText"]),
        .testTarget(name: "ZenModelTests", dependencies: ["ZenModel", "ZenTensor", "ZenTraining"]),
        .testTarget(name: "ZenTrainingTests", dependencies: ["ZenTraining", "ZenTensor", "ZenText", "ZenModel"]),
        .testTarget(
            name: "ZenServerTests",
            dependencies: [
                "ZenServer",
                "ZenModel",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "ZenCLITests", dependencies: ["zen", "ZenText", "ZenModel", "ZenTraining"]),
        // Compiles README.md's Swift snippets against the library modules built before it.
        .testTarget(name: "DocumentationTests", dependencies: ["ZenText", "ZenModel", "ZenTraining", "ZenServer"]),
    ],
    swiftLanguageModes: [.v6]
)
