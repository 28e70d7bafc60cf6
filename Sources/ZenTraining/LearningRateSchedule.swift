/// The reference fine-tuning scripts' schedule (spec section 6): linear warm-up, then linear decay
/// (polynomial, power 1) to `endRate`, which it keeps past the last step.
public struct LearningRateSchedule: Sendable, Equatable {
    public var peakRate: Double
    public var totalSteps: Int
    /// Warm-up steps, `warmupRatio · totalSteps`; may be fractional.
    public var warmupSteps: Double
    public var endRate: Double

    /// `totalSteps` is `floor(examples · epochs / batchSize)`, as the reference counts it.
    public init(peakRate: Double, examples: Int, epochs: Int, batchSize: Int, warmupRatio: Double, endRate: Double = 1e-7) {
        self.peakRate = peakRate
        totalSteps = examples * epochs / batchSize
        warmupSteps = warmupRatio * Double(totalSteps)
        self.endRate = endRate
    }

    /// The rate optimizer step `step` (0-based) uses.
    public func rate(at step: Int) -> Double {
        let s = Double(step)
        if s < warmupSteps { return peakRate * s / max(1, warmupSteps) }
        if step > totalSteps { return endRate }
        return (peakRate - endRate) * (1 - (s - warmupSteps) / (Double(totalSteps) - warmupSteps)) + endRate
    }
}
