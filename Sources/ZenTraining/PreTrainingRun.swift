import Foundation
import ZenModel
import ZenText

/// Where a pre-training run stands, saved in each of its checkpoints.
public struct PreTrainingState: RunState, Equatable {
    public var step: Int
    public var options: PreTrainingOptions
    /// The instances of each pregenerated epoch the run reads, as counted when it started: a
    /// resume must read the same data to continue the same run.
    public var epochSizes: [Int]
    public var files: [String: FileDigest] = [:]

    public init(step: Int, options: PreTrainingOptions, epochSizes: [Int]) {
        (self.step, self.options, self.epochSizes) = (step, options, epochSizes)
    }
}

public enum PreTrainingError: Error, Equatable, CustomStringConvertible {
    case resumeMismatch(path: String, saved: [Int], given: [Int])

    public var description: String {
        switch self {
        case .resumeMismatch(let path, let saved, let given):
            return "\(path) was saved by a run over instances of \(saved.map(String.init).joined(separator: ", ")) per epoch file, "
                + "not \(given.map(String.init).joined(separator: ", ")); resume with the same --instances"
        }
    }
}

/// A whole pre-training run, the policy around `PreTrainer`'s steps (what `zen pretrain` runs):
/// - the output directory: new or empty unless overwriting or resuming; `train_log.jsonl` (a
///   line per step: the loss and its MLM and NSP parts, the rate) and, with held-out instances,
///   `eval_log.jsonl` (MLM accuracy and perplexity after every epoch, every `evalEvery` steps
///   and at the end);
/// - the model: the last one, written at the end (and when a non-finite loss stops the run);
/// - checkpoints, as a fine-tuning run keeps them (`FineTuningRun`): every `saveEvery`, after
///   every epoch and when stopped, each whole before the previous one is removed.
public struct PreTrainingRun {
    public struct Settings: Sendable {
        /// The model directory the run started from: its config, vocabulary and n-grams go into
        /// every model the run writes.
        public var source: String
        public var output: String
        public var evalEvery: Int?
        public var saveEvery: FineTuningRun.CheckpointInterval

        public init(source: String, output: String, evalEvery: Int? = nil, saveEvery: FineTuningRun.CheckpointInterval = .standard) {
            (self.source, self.output, self.evalEvery, self.saveEvery) = (source, output, evalEvery, saveEvery)
        }
    }

    public enum Event {
        case step(StepRecord)
        case evaluated(step: Int, PreTrainingEvaluation)
    }

    public struct Summary: Sendable, Encodable {
        public var steps: Int
        public var output: String
        public var trainSeconds: Double
        public var instancesPerSecond: Double
        public var evaluation: PreTrainingEvaluation?

        enum CodingKeys: String, CodingKey {
            case steps, output, trainSeconds = "train_seconds", instancesPerSecond = "instances_per_second", evaluation = "eval"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(steps, forKey: .steps)
            try container.encode(output, forKey: .output)
            try container.encode(number: trainSeconds, forKey: .trainSeconds)
            try container.encode(number: instancesPerSecond, forKey: .instancesPerSecond)
            try container.encodeIfPresent(evaluation, forKey: .evaluation)
        }
    }

    public let settings: Settings
    public private(set) var trainer: PreTrainer
    let heldOut: [PreTrainingExample]?
    let saved: SavedModel
    private var lastEvaluation: (step: Int, result: PreTrainingEvaluation)?
    private var lastCheckpoint: (checkpoint: ResumableCheckpoint<PreTrainingState>?, time: Date)

    /// Checks the output directory (`Checkpoints.prepareOutput`); a checkpoint to resume from
    /// must have been saved by a run over the same instances.
    public static func prepare(output: String, epochSizes: [Int], resume: Bool, overwrite: Bool) throws -> ResumableCheckpoint<PreTrainingState>? {
        let checkpoint = try Checkpoints.prepareOutput(output, resume: resume, overwrite: overwrite, as: PreTrainingState.self)
        if let checkpoint, checkpoint.state.epochSizes != epochSizes {
            throw PreTrainingError.resumeMismatch(path: checkpoint.directory, saved: checkpoint.state.epochSizes, given: epochSizes)
        }
        return checkpoint
    }

    /// A run of `trainer` (fresh, or restored to the step of `checkpoint`), evaluated on `heldOut`.
    public init(settings: Settings, trainer: PreTrainer, resumingFrom checkpoint: ResumableCheckpoint<PreTrainingState>?,
                heldOut: [PreTrainingExample]?) throws {
        (self.settings, self.trainer, self.heldOut) = (settings, trainer, heldOut)
        lastCheckpoint = (checkpoint, Date())
        // What a fine-tuned source says about its classifier and its inputs is not this model's.
        saved = try SavedModel(source: settings.source, dropping: ["num_labels", "id2label", "label2id", "ngram_weighting", "max_seq_length"])
    }

    /// Runs the remaining steps. `shouldStop` is asked between steps (Ctrl-C, SIGTERM): then a
    /// resumable checkpoint is saved (unless the newest one is of this step) and
    /// `FineTuningError.stopped` thrown.
    public mutating func run(shouldStop: () -> Bool = { false }, observe: (Event) -> Void = { _ in }) throws -> Summary {
        let trainLog = try TrainingLog(settings.output + "/train_log.jsonl", keepingSteps: trainer.step)
        let evalLog = try heldOut.map { _ in try TrainingLog(settings.output + "/eval_log.jsonl", keepingSteps: trainer.step) }
        var trainingSeconds = 0.0, trainedInstances = 0
        while !trainer.isFinished {
            if shouldStop() { throw FineTuningError.stopped(step: trainer.step, checkpoint: try saveCheckpoint().directory) }
            let record: StepRecord
            let started = Date()
            do {
                record = try trainer.trainStep()
            } catch let error as FineTuningError {
                try saveCheckpoint()
                try saved.write(trainer.model, config: trainer.model.config, to: settings.output)
                throw error
            }
            trainingSeconds += Date().timeIntervalSince(started)
            trainedInstances += record.examples
            try trainLog.append(TrainLogLine(record))
            observe(.step(record))
            let epochEnds = trainer.position(of: trainer.step).batch == 0
            if epochEnds || settings.evalEvery.map({ record.step % $0 == 0 }) == true { try evaluate(log: evalLog, observe: observe) }
            if !trainer.isFinished, epochEnds || settings.saveEvery.isDue(step: trainer.step, saved: lastCheckpoint.time) { try saveCheckpoint() }
        }
        if lastEvaluation?.step != trainer.step { try evaluate(log: evalLog, observe: observe) }
        try saved.write(trainer.model, config: trainer.model.config, to: settings.output)
        Checkpoints.removeAll(in: settings.output)
        return Summary(steps: trainer.step, output: settings.output, trainSeconds: trainingSeconds,
                       instancesPerSecond: Double(trainedInstances) / max(trainingSeconds, 1e-9), evaluation: lastEvaluation?.result)
    }

    private mutating func evaluate(log: TrainingLog?, observe: (Event) -> Void) throws {
        guard let heldOut else { return }
        let result = try Evaluation.preTraining(trainer.model.inferenceModel, heldOut)
        lastEvaluation = (trainer.step, result)
        try log?.append(EvalLogLine(step: trainer.step, epoch: trainer.position(of: max(0, trainer.step - 1)).epoch + 1, eval: result))
        observe(.evaluated(step: trainer.step, result))
    }

    /// Saves the run's state as the newest checkpoint, unless that is already of this step.
    @discardableResult
    private mutating func saveCheckpoint() throws -> ResumableCheckpoint<PreTrainingState> {
        if let newest = lastCheckpoint.checkpoint, newest.state.step == trainer.step { return newest }
        let state = PreTrainingState(step: trainer.step, options: trainer.options, epochSizes: trainer.epochData.map(\.count))
        let checkpoint = try Checkpoints.writeResumable(model: { [saved, trainer] in try saved.write(trainer.model, config: trainer.model.config, to: $0) },
                                                        optimizer: trainer.optimizer, state: state, in: settings.output)
        lastCheckpoint = (checkpoint, Date())
        return checkpoint
    }

    /// `{"step", "loss", "mlm_loss", "nsp_loss", "lr"}`.
    private struct TrainLogLine: Encodable {
        let record: StepRecord
        init(_ record: StepRecord) { self.record = record }
        enum CodingKeys: String, CodingKey { case step, loss, mlmLoss = "mlm_loss", nspLoss = "nsp_loss", lr }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(record.step, forKey: .step)
            try container.encode(number: record.loss, forKey: .loss)
            try container.encode(number: record.parts?.maskedLM ?? .nan, forKey: .mlmLoss)
            try container.encode(number: record.parts?.nextSentence ?? .nan, forKey: .nspLoss)
            try container.encode(number: record.learningRate, forKey: .lr)
        }
    }

    private struct EvalLogLine: Encodable {
        var step: Int, epoch: Int, eval: PreTrainingEvaluation
        enum CodingKeys: String, CodingKey { case step, epoch, eval }
    }
}
