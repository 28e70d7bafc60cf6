import Foundation
import ZenModel
import ZenTensor
import ZenText

/// The hyper-parameters of a fine-tuning run (spec section 6), with the reference's defaults
/// where it has them.
public struct FineTuningOptions: Sendable, Equatable, Codable {
    public var batchSize = 32
    public var learningRate = 2e-5
    public var weightDecay = 0.01
    public var warmupRatio = 0.1
    public var epochs = 3
    /// Overrides the config's dropout probabilities (hidden and attention) when set.
    public var dropout: Double?
    public var shuffle = true
    public var seed: UInt64 = 42
    /// Each batch is cut into this many micro-batches whose gradients add up: the same step
    /// with less memory.
    public var gradientAccumulation = 1
    /// Clips the gradient's global norm to this (torch's `clip_grad_norm_`); off by default, as
    /// in the reference.
    public var maxGradientNorm: Double?
    /// ε of the loss's label smoothing (torch's `label_smoothing`); none by default, as in the reference.
    public var labelSmoothing: Double?
    /// How the n-gram encoder attends (`ngram_attention_mask` of the config, which the trained
    /// model records): masked to the real hits as in pre-training, or all slots as the reference
    /// fine-tunes; nil keeps the source model's.
    public var ngramAttentionMask: Bool?

    public init() {}
}

/// One optimizer step, as the training log records it.
public struct StepRecord: Sendable, Equatable {
    /// Optimizer steps taken, this one included (1 for the first).
    public var step: Int
    /// The batch's mean loss (over its micro-batches).
    public var loss: Double
    /// Pre-training: the two parts of `loss`.
    public var parts: PreTrainingLoss?
    /// The learning rate this step used.
    public var learningRate: Double
    public var epoch: Int
    public var examples: Int
}

public enum FineTuningError: Error, Equatable, CustomStringConvertible {
    case nonFiniteLoss(step: Int, loss: Double)
    case stopped(step: Int, checkpoint: String)
    case nothingToResume(path: String)
    case checkpointNotWhole(directory: String, reason: String, previous: String?)
    case checkpointNotSaved(path: String, reason: String)
    case resumeMismatch(path: String, task: String, weighting: String, maxSeqLength: Int)
    case outputIsFile(path: String)
    case outputNotEmpty(path: String)
    case unwritable(path: String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let loss):
            return "the loss became \(loss.isNaN ? "NaN" : "infinite") at step \(step); the parameters from before that step are kept"
        case .stopped(let step, let checkpoint):
            return "stopped after step \(step); saved \(checkpoint) (continue with --resume)"
        case .nothingToResume(let path):
            return "nothing to resume: \(path) holds no checkpoint (a checkpoint-<step> directory, saved every --save-every steps, "
                + "after every epoch and when stopped); run without --resume to start"
        case .checkpointNotWhole(let directory, let reason, let previous):
            return "cannot resume from \(directory): \(reason). Its parts do not belong together, and resuming from it would train a "
                + "different model. " + (previous.map { "Remove \(directory) and run again with --resume to continue from the previous "
                    + "complete checkpoint, \($0)" } ?? "No earlier checkpoint is kept: run again with --overwrite instead of --resume to start over")
        case .checkpointNotSaved(let path, let reason):
            return "cannot save the checkpoint \(path): \(reason). The checkpoints saved before it are as they were: "
                + "once the cause is fixed, continue with --resume"
        case .resumeMismatch(let path, let task, let weighting, let maxSeqLength):
            return "\(path) was saved by a run with --task \(task) --weighting \(weighting) --max-seq-length \(maxSeqLength); resume with the same settings"
        case .outputIsFile(let path):
            return "--output \(path) is a file, not a directory"
        case .outputNotEmpty(let path):
            return "--output \(path) exists and is not empty; pass --overwrite to write into it, or --resume to continue its run"
        case .unwritable(let path):
            return "cannot write \(path); check that its directory is writable"
        }
    }
}

/// Fine-tuning as the reference scripts do it: batches in file order or shuffled per epoch
/// (the last partial batch included), mean cross-entropy, AdamW with the warm-up and linear
/// decay schedule. Steps run one at a time, so the caller logs, evaluates, saves and stops
/// between them; the position is a step count, so a run resumes exactly where it stopped.
public struct FineTuner: Sendable {
    public private(set) var model: TrainableModel
    public private(set) var optimizer: AdamW
    public let options: FineTuningOptions
    public let schedule: LearningRateSchedule
    public let examples: [TrainingExample]

    public init(model: TrainableModel, examples: [TrainingExample], options: FineTuningOptions, optimizer: AdamW? = nil) {
        precondition(!examples.isEmpty && options.batchSize > 0 && options.epochs > 0 && options.gradientAccumulation > 0,
                     "FineTuner: needs examples and positive batch size, epochs and accumulation")
        var model = model
        if let dropout = options.dropout { model.setDropout(dropout) }
        if let labelSmoothing = options.labelSmoothing { model.labelSmoothing = Float(labelSmoothing) }
        if let mask = options.ngramAttentionMask { model.setNgramAttentionMask(mask) }
        self.model = model
        self.examples = examples
        self.options = options
        self.optimizer = optimizer ?? AdamW(weightDecay: options.weightDecay)
        let stepsPerEpoch = (examples.count + options.batchSize - 1) / options.batchSize
        schedule = LearningRateSchedule(peakRate: options.learningRate, examples: examples.count, epochs: options.epochs,
                                        batchSize: options.batchSize, warmupRatio: options.warmupRatio,
                                        minimumSteps: stepsPerEpoch * options.epochs)
    }

    /// Optimizer steps taken.
    public var step: Int { optimizer.steps }
    public var stepsPerEpoch: Int { (examples.count + options.batchSize - 1) / options.batchSize }
    public var totalSteps: Int { stepsPerEpoch * options.epochs }
    public var isFinished: Bool { step >= totalSteps }
    /// The epoch (0-based) the next step belongs to.
    public var epoch: Int { step / stepsPerEpoch }

    /// The examples of epoch `epoch` in the order it visits them: a seeded shuffle of its own,
    /// so that the order does not depend on where a run was resumed.
    public func order(epoch: Int) -> [Int] {
        var order = Array(examples.indices)
        guard options.shuffle else { return order }
        var generator = SplitMix64(seed: options.seed &+ 0x5EED_0000 &+ UInt64(epoch))
        order.shuffle(using: &generator)
        return order
    }

    /// Runs the next optimizer step. A non-finite loss throws before anything changes.
    public mutating func trainStep() throws -> StepRecord {
        precondition(!isFinished, "FineTuner: every step has run")
        let (epoch, index) = step.quotientAndRemainder(dividingBy: stepsPerEpoch)
        let order = self.order(epoch: epoch)
        let batch = Array(order[(index * options.batchSize)..<min(order.count, (index + 1) * options.batchSize)])
        let parts = min(options.gradientAccumulation, batch.count)
        let partSize = (batch.count + parts - 1) / parts
        var gradients = ParameterGradients()
        var loss = 0.0
        for part in stride(from: 0, to: batch.count, by: partSize) {
            let members = batch[part..<min(batch.count, part + partSize)].map { examples[$0] }
            let dropoutSeed = options.seed &* 0x9E37_79B9 &+ UInt64(step) &* 0x1_0000 &+ UInt64(part)
            loss += try model.loss(members.map(\.features), labels: model.task == .classification ? members.map { $0.label! } : nil,
                                   dropoutSeed: dropoutSeed, gradients: &gradients, scale: 1 / Float(parts))
        }
        loss /= Double(parts)
        guard loss.isFinite else { throw FineTuningError.nonFiniteLoss(step: step + 1, loss: loss) }
        if let limit = options.maxGradientNorm {
            let norm = gradients.norm
            if norm > limit { gradients.scale(by: Float(limit / (norm + 1e-6))) }
        }
        let rate = schedule.rate(at: step)
        optimizer.step(gradients: gradients.tensors, learningRate: rate) { update in model.updateParameters(update) }
        return StepRecord(step: step, loss: loss, learningRate: rate, epoch: epoch, examples: batch.count)
    }
}
