import Foundation

/// SplitMix64: a small, fast, seeded generator, so that everything random in the project (test
/// data now, dropout and shuffling in training) replays exactly from its seed on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}

extension Tensor {
    /// Normal samples (Box–Muller over `generator`), for initializing weights.
    public static func normal(_ shape: [Int], standardDeviation: Float, using generator: inout SplitMix64) -> Tensor {
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        var index = 0
        while index < values.count {
            let u1 = Double(generator.next() >> 11 + 1) * 0x1p-53
            let u2 = Double(generator.next() >> 11) * 0x1p-53
            let radius = (-2 * log(u1)).squareRoot() * Double(standardDeviation)
            values[index] = Float(radius * cos(2 * .pi * u2))
            if index + 1 < values.count { values[index + 1] = Float(radius * sin(2 * .pi * u2)) }
            index += 2
        }
        return Tensor(shape: shape, scalars: values)
    }
}
