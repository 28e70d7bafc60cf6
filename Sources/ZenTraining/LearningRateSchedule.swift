import Foundation

/// The reference fine-tuning scripts' schedule (spec section 6): linear warm-up, then linear decay
/// (polynomial, power 1) to `endRate`, which it keeps past the last step.
public struct LearningRateSchedule: Sendable, Equatable {
    public var peakRate: Double
    public var totalSteps: Int
    /// Warm-up steps, `warmupRatio · totalSteps`; may be fractional.
    public var warmupSteps: Double
    public var endRate: Double

    /// Whether the reference's step count was 0 and the schedule spans the run's steps instead.
    public var isStretched: Bool { referenceSteps == 0 }
    private var referenceSteps: Int

    /// `totalSteps` is `floor(examples · epochs / batchSize)`, as the reference counts it, unless
    /// that is 0 (fewer examples than one batch, where the reference's rate is NaN): then the
    /// schedule spans `minimumSteps`, the steps the run takes.
    public init(peakRate: Double, examples: Int, epochs: Int, batchSize: Int, warmupRatio: Double, endRate: Double = 1e-7,
                minimumSteps: Int = 1) {
        self.peakRate = peakRate
        let referenceSteps = examples * epochs / batchSize
        self.referenceSteps = referenceSteps
        totalSteps = referenceSteps > 0 ? referenceSteps : max(1, minimumSteps)
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

/// The reference pre-training's schedule, `PolyWarmUp` (spec section 7): optimizer step s
/// (0-based) has progress q = (s + 1) / total and uses `peak · q / w` while q < w, else
/// `peak · (1 − q)^degree`, so the last step's rate is 0.
public struct PolyWarmUpSchedule: Sendable, Equatable {
    public var peakRate: Double
    public var totalSteps: Int
    /// The warm-up proportion w of the steps.
    public var warmupProportion: Double
    public var degree: Double = 0.5

    public init(peakRate: Double, totalSteps: Int, warmupProportion: Double) {
        precondition(totalSteps > 0, "PolyWarmUpSchedule: no steps")
        (self.peakRate, self.totalSteps, self.warmupProportion) = (peakRate, totalSteps, warmupProportion)
    }

    public func rate(at step: Int) -> Double {
        let progress = Double(step + 1) / Double(totalSteps)
        if progress < warmupProportion { return peakRate * progress / warmupProportion }
        return peakRate * pow(max(0, 1 - progress), degree)
    }
}
