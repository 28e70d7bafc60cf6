import Foundation
import ZenModel
import ZenTensor
import ZenText

/// The hyper-parameters of a pre-training run (spec section 7), with the reference's defaults
/// where it has them.
public struct PreTrainingOptions: Sendable, Equatable, Codable {
    public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
        /// LAMB with the PolyWarmUp schedule: the reference's.
        case lamb
        /// AdamW with the fine-tuning schedule (linear warm-up and decay).
        case adamw
    }

    public var batchSize = 32
    public var learningRate = 1e-4
    public var warmupProportion = 0.01
    public var epochs = 1
    /// Ends the run (and the schedule) after this many steps instead of `epochs` whole epochs.
    public var maxSteps: Int?
    public var optimizer = OptimizerKind.lamb
    public var weightDecay = 0.01
    /// Overrides the config's dropout probabilities (hidden and attention) when set.
    public var dropout: Double?
    public var shuffle = true
    public var seed: UInt64 = 42
    public var gradientAccumulation = 1
    /// The global gradient norm is clipped to this (`clip_grad_norm_(…, 1.0)` in the reference).
    public var maxGradientNorm = 1.0

    public init() {}
}

/// Pre-training as the reference loop does it: batches of instances in file order or shuffled
/// per epoch (the last partial batch included), MLM + NSP loss, the gradient's norm clipped,
/// LAMB with PolyWarmUp (or AdamW with the fine-tuning schedule). Epoch e reads `epochs[e mod
/// count]`: pregenerated data has a fresh masking per epoch. Steps run one at a time, and the
/// position is a step count, so a run resumes exactly where it stopped.
public struct PreTrainer: Sendable {
    public private(set) var model: PreTrainingModel
    public private(set) var optimizer: any Optimizer
    public let options: PreTrainingOptions
    /// The instances of each pregenerated epoch.
    public let epochData: [[PreTrainingExample]]
    /// Optimizer steps of each epoch of the run, and in all.
    public let stepsPerEpoch: [Int]
    public let totalSteps: Int

    public init(model: PreTrainingModel, epochs epochData: [[PreTrainingExample]], options: PreTrainingOptions, optimizer: (any Optimizer)? = nil) {
        precondition(!epochData.isEmpty && epochData.allSatisfy { !$0.isEmpty } && options.batchSize > 0 && options.epochs > 0
                     && options.gradientAccumulation > 0, "PreTrainer: needs instances and positive batch size, epochs and accumulation")
        var model = model
        if let dropout = options.dropout { model.setDropout(dropout) }
        self.model = model
        self.epochData = epochData
        self.options = options
        stepsPerEpoch = (0..<options.epochs).map { (epochData[$0 % epochData.count].count + options.batchSize - 1) / options.batchSize }
        totalSteps = options.maxSteps ?? stepsPerEpoch.reduce(0, +)
        switch options.optimizer {
        case .lamb: self.optimizer = optimizer ?? LAMB(weightDecay: options.weightDecay)
        case .adamw: self.optimizer = optimizer ?? AdamW(weightDecay: options.weightDecay)
        }
    }

    /// Optimizer steps taken.
    public var step: Int { optimizer.steps }
    public var isFinished: Bool { step >= totalSteps }

    /// The rate of optimizer step `step` (0-based).
    public func rate(at step: Int) -> Double {
        switch options.optimizer {
        case .lamb:
            return PolyWarmUpSchedule(peakRate: options.learningRate, totalSteps: totalSteps, warmupProportion: options.warmupProportion)
                .rate(at: step)
        case .adamw:
            return LearningRateSchedule(peakRate: options.learningRate, examples: totalSteps * options.batchSize, epochs: 1,
                                        batchSize: options.batchSize, warmupRatio: options.warmupProportion).rate(at: step)
        }
    }

    /// The epoch (0-based) and the batch within it of optimizer step `step`; past the last
    /// epoch (a `maxSteps` beyond them), the epochs start over.
    public func position(of step: Int) -> (epoch: Int, batch: Int) {
        var (epoch, batch) = (0, step % stepsPerEpoch.reduce(0, +))
        while batch >= stepsPerEpoch[epoch] { (batch, epoch) = (batch - stepsPerEpoch[epoch], epoch + 1) }
        return (epoch, batch)
    }

    /// The instances of epoch `epoch` in the order it visits them: a seeded shuffle of its own,
    /// so that the order does not depend on where a run was resumed.
    public func order(epoch: Int) -> [Int] {
        var order = Array(epochData[epoch % epochData.count].indices)
        guard options.shuffle else { return order }
        var generator = SplitMix64(seed: options.seed &+ 0x5EED_0000 &+ UInt64(epoch))
        order.shuffle(using: &generator)
        return order
    }

    /// Runs the next optimizer step. A non-finite loss throws before anything changes.
    public mutating func trainStep() throws -> StepRecord {
        precondition(!isFinished, "PreTrainer: every step has run")
        let (epoch, index) = position(of: step)
        let data = epochData[epoch % epochData.count]
        let order = self.order(epoch: epoch)
        let batch = order[(index * options.batchSize)..<min(order.count, (index + 1) * options.batchSize)].map { data[$0] }
        let share = (masked: batch.reduce(0) { $0 + $1.maskedPositions.count }, sequences: batch.count)
        let parts = min(options.gradientAccumulation, batch.count)
        let partSize = (batch.count + parts - 1) / parts
        var gradients = ParameterGradients()
        var loss = PreTrainingLoss()
        for (part, start) in stride(from: 0, to: batch.count, by: partSize).enumerated() {
            let dropoutSeed = options.seed &* 0x9E37_79B9 &+ UInt64(step) &* 0x1_0000 &+ UInt64(part)
            loss = loss + (try model.loss(Array(batch[start..<min(batch.count, start + partSize)]), dropoutSeed: dropoutSeed,
                                          gradients: &gradients, share: share))
        }
        guard loss.total.isFinite else { throw FineTuningError.nonFiniteLoss(step: step + 1, loss: loss.total) }
        // clip_grad_norm_: every gradient times min(1, max / (norm + 1e-6)).
        let factor = options.maxGradientNorm / (gradients.norm + 1e-6)
        if factor < 1 { gradients.scale(by: Float(factor)) }
        let rate = self.rate(at: step)
        optimizer.step(gradients: gradients.tensors, learningRate: rate) { update in model.updateParameters(update) }
        return StepRecord(step: step, loss: loss.total, parts: loss, learningRate: rate, epoch: epoch, examples: batch.count)
    }
}
