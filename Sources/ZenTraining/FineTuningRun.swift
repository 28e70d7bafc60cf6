import Foundation
import ZenModel
import ZenText

/// A whole fine-tuning run, the policy around `FineTuner`'s steps (what `zen finetune` runs):
/// - the output directory: new or empty unless overwriting or resuming, the logs
///   `train_log.jsonl` (a line per step) and `eval_log.jsonl` (a line per dev evaluation);
/// - the model: with a dev set, evaluated after every epoch, every `evalEvery` steps and at the
///   end of every run, and the best one kept; without, the last; a run always leaves one;
/// - checkpoints: a resumable one (model, AdamW moments, step) in `output/checkpoint-<step>` every
///   `saveEvery` (steps, or by default ten minutes), after every epoch and when stopped, each saved
///   as a whole before the previous one is removed; the last is removed once the run ends;
/// - a non-finite loss: the parameters from before that step are kept, resumable and (when no
///   better model was saved) as the model, and the run stops with the error.
public struct FineTuningRun {
    public struct Settings: Sendable {
        /// The model directory the run started from: its config, vocabulary and n-grams go into
        /// every model the run writes.
        public var source: String
        public var output: String
        public var task: ModelTask
        public var labels: ClassLabels
        public var weighting: NgramWeighting
        public var maxSeqLength: Int
        public var evalEvery: Int?
        public var maxSteps: Int?
        public var saveEvery: CheckpointInterval

        public init(source: String, output: String, task: ModelTask, labels: ClassLabels, weighting: NgramWeighting,
                    maxSeqLength: Int, evalEvery: Int? = nil, maxSteps: Int? = nil, saveEvery: CheckpointInterval = .standard) {
            (self.source, self.output, self.task, self.labels, self.weighting) = (source, output, task, labels, weighting)
            (self.maxSeqLength, self.evalEvery, self.maxSteps, self.saveEvery) = (maxSeqLength, evalEvery, maxSteps, saveEvery)
        }
    }

    /// How often a run saves a checkpoint between epochs.
    public enum CheckpointInterval: Sendable, Equatable, CustomStringConvertible {
        case steps(Int)
        case seconds(Double)

        /// Every ten minutes: a run killed loses at most that much, and a save (a few seconds
        /// for the largest models) costs a small part of it.
        public static let standard = CheckpointInterval.seconds(600)

        /// `200` (steps), or `30s`, `10m`, `2h`; nil for anything else, zero or negative.
        public init?(_ text: String) {
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
            if let steps = Int(text) {
                guard steps > 0 else { return nil }
                self = .steps(steps)
            } else if let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()), count > 0, count.isFinite {
                self = .seconds(count * unit)
            } else {
                return nil
            }
        }

        /// Whether a run at `step`, whose newest checkpoint was saved at `saved`, saves another.
        func isDue(step: Int, saved: Date) -> Bool {
            switch self {
            case .steps(let steps): return step % steps == 0
            case .seconds(let seconds): return Date().timeIntervalSince(saved) >= seconds
            }
        }

        /// As `init(_:)` reads it: `200`, `10m`.
        public var description: String {
            switch self {
            case .steps(let steps): return String(steps)
            case .seconds(let seconds):
                let (count, unit) = seconds > 0 && seconds.truncatingRemainder(dividingBy: 3600) == 0 ? (seconds / 3600, "h")
                    : seconds > 0 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? (seconds / 60, "m") : (seconds, "s")
                return String(format: "%g", count) + unit
            }
        }
    }

    /// What happens, for the caller to show.
    public enum Event {
        case step(StepRecord)
        case evaluated(step: Int, metric: Double, improved: Bool)
    }

    public struct Summary: Sendable, Encodable {
        public var steps: Int
        public var output: String
        public var trainSeconds: Double
        public var examplesPerSecond: Double
        public var bestDev: Double?
        public var bestStep: Int?

        enum CodingKeys: String, CodingKey {
            case steps, output
            case trainSeconds = "train_seconds", examplesPerSecond = "examples_per_second", bestDev = "best_dev", bestStep = "best_step"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(steps, forKey: .steps)
            try container.encode(output, forKey: .output)
            try container.encode(number: trainSeconds, forKey: .trainSeconds)
            try container.encode(number: examplesPerSecond, forKey: .examplesPerSecond)
            if let bestDev { try container.encode(number: bestDev, forKey: .bestDev) }
            try container.encodeIfPresent(bestStep, forKey: .bestStep)
        }
    }

    /// Scores a model on the dev set: the metric that chooses the best model, and the report
    /// that `eval_log.jsonl` keeps.
    public typealias DevEvaluation = (ZenModel) throws -> any EvaluationReport

    public let settings: Settings
    public private(set) var tuner: FineTuner
    let evaluate: DevEvaluation?
    let saved: SavedModel
    private(set) var best: (metric: Double?, step: Int?)
    private var lastEvaluatedStep: Int?
    /// The newest checkpoint this run saved or resumed from, and when it was saved or loaded.
    private var lastCheckpoint: (checkpoint: ResumableCheckpoint<TrainingState>?, time: Date)

    /// Checks the output directory before anything is read (`Checkpoints.prepareOutput`); a
    /// checkpoint to resume from must have been saved with the same task, weighting and length.
    public static func prepare(_ settings: (output: String, task: ModelTask, weighting: NgramWeighting, maxSeqLength: Int),
                               resume: Bool, overwrite: Bool) throws -> ResumableCheckpoint<TrainingState>? {
        let checkpoint = try Checkpoints.prepareOutput(settings.output, resume: resume, overwrite: overwrite, as: TrainingState.self)
        if let state = checkpoint?.state,
           state.task != settings.task.rawValue || state.weighting != settings.weighting.rawValue || state.maxSeqLength != settings.maxSeqLength {
            throw FineTuningError.resumeMismatch(path: checkpoint!.directory, task: state.task, weighting: state.weighting,
                                                 maxSeqLength: state.maxSeqLength)
        }
        return checkpoint
    }

    /// A run of `tuner` (fresh, or restored to the step of `checkpoint`) under `settings`.
    public init(settings: Settings, tuner: FineTuner, resumingFrom checkpoint: ResumableCheckpoint<TrainingState>?, evaluate: DevEvaluation?) throws {
        self.settings = settings
        self.tuner = tuner
        self.evaluate = evaluate
        best = (checkpoint?.state.bestMetric, checkpoint?.state.bestStep)
        lastCheckpoint = (checkpoint, Date())
        saved = try SavedModel(source: settings.source)
    }

    /// The steps this run takes: the schedule's, or fewer with `maxSteps`.
    public var plannedSteps: Int { min(tuner.totalSteps, settings.maxSteps ?? .max) }

    /// Runs the remaining steps. `shouldStop` is asked between steps (Ctrl-C, SIGTERM): then a
    /// resumable checkpoint is saved (unless the newest one is of this step) and
    /// `FineTuningError.stopped` thrown.
    public mutating func run(shouldStop: () -> Bool = { false }, observe: (Event) -> Void = { _ in }) throws -> Summary {
        let trainLog = try TrainingLog(settings.output + "/train_log.jsonl", keepingSteps: tuner.step)
        let evalLog = try evaluate.map { _ in try TrainingLog(settings.output + "/eval_log.jsonl", keepingSteps: tuner.step) }
        var trainingSeconds = 0.0, trainedExamples = 0
        while tuner.step < plannedSteps {
            if shouldStop() {
                throw FineTuningError.stopped(step: tuner.step, checkpoint: try saveCheckpoint().directory)
            }
            let record: StepRecord
            let started = Date()
            do {
                record = try tuner.trainStep()
            } catch let error as FineTuningError {
                try saveCheckpoint()
                if best.step == nil { try saveModel(to: settings.output) }
                throw error
            }
            trainingSeconds += Date().timeIntervalSince(started)
            trainedExamples += record.examples
            try trainLog.append(TrainLogLine(step: record.step, loss: record.loss, lr: record.learningRate))
            observe(.step(record))
            let epochEnds = record.step % tuner.stepsPerEpoch == 0
            if epochEnds || settings.evalEvery.map({ record.step % $0 == 0 }) == true {
                try evaluateAndKeep(epoch: record.epoch, log: evalLog, observe: observe)
            }
            if tuner.step < plannedSteps, epochEnds || settings.saveEvery.isDue(step: tuner.step, saved: lastCheckpoint.time) { try saveCheckpoint() }
        }
        // Every run ends with a model: the best by dev (evaluated at the last step too), or the last.
        if evaluate != nil {
            if lastEvaluatedStep != tuner.step { try evaluateAndKeep(epoch: tuner.epoch, log: evalLog, observe: observe) }
        } else {
            try saveModel(to: settings.output)
        }
        Checkpoints.removeAll(in: settings.output)
        return Summary(steps: tuner.step, output: settings.output, trainSeconds: trainingSeconds,
                       examplesPerSecond: Double(trainedExamples) / max(trainingSeconds, 1e-9), bestDev: best.metric, bestStep: best.step)
    }

    private mutating func evaluateAndKeep(epoch: Int, log: TrainingLog?, observe: (Event) -> Void) throws {
        guard let evaluate else { return }
        let report = try evaluate(tuner.model.inferenceModel)
        lastEvaluatedStep = tuner.step
        try log?.append(EvalLogLine(step: tuner.step, epoch: epoch + 1, dev: report))
        let improved = best.metric.map { report.metric > $0 } ?? true
        observe(.evaluated(step: tuner.step, metric: report.metric, improved: improved))
        if improved {
            best = (report.metric, tuner.step)
            try saveModel(to: settings.output)
        }
    }

    /// The model as the run trained it: with its labels, and the weighting and length it was trained at.
    private func saveModel(to directory: String) throws {
        var config = tuner.model.config
        (config.ngramWeighting, config.maxSeqLength) = (settings.weighting, settings.maxSeqLength)
        try saved.write(tuner.model, config: config, to: directory)
    }

    /// Saves the run's state as the newest checkpoint, unless that is already of this step.
    @discardableResult
    private mutating func saveCheckpoint() throws -> ResumableCheckpoint<TrainingState> {
        if let newest = lastCheckpoint.checkpoint, newest.state.step == tuner.step { return newest }
        let state = TrainingState(step: tuner.step, options: tuner.options, task: settings.task.rawValue, labels: settings.labels.names,
                                  weighting: settings.weighting.rawValue, maxSeqLength: settings.maxSeqLength,
                                  bestMetric: best.metric, bestStep: best.step)
        let checkpoint = try Checkpoints.writeResumable(model: saveModel, optimizer: tuner.optimizer,
                                                        state: state, in: settings.output)
        lastCheckpoint = (checkpoint, Date())
        return checkpoint
    }

    private struct TrainLogLine: Encodable {
        var step: Int, loss: Double, lr: Double
        enum CodingKeys: String, CodingKey { case step, loss, lr }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(step, forKey: .step)
            try container.encode(number: loss, forKey: .loss)
            try container.encode(number: lr, forKey: .lr)
        }
    }

    private struct EvalLogLine: Encodable {
        var step: Int, epoch: Int, dev: any EvaluationReport
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(step, forKey: .step)
            try container.encode(epoch, forKey: .epoch)
            try container.encode(dev, forKey: .dev)
        }
        enum CodingKeys: String, CodingKey { case step, epoch, dev }
    }
}

/// A JSON Lines log appended to line by line. Lines of steps after `keepingSteps` (left by a
/// run that went on past its last checkpoint) are dropped when a run resumes.
final class TrainingLog {
    private let handle: FileHandle

    init(_ path: String, keepingSteps steps: Int) throws {
        struct Step: Decodable { var step: Int }
        let kept = steps == 0 || !FileManager.default.fileExists(atPath: path) ? []
            : try TextFile.jsonLines(at: path).filter { line in ((try? line.decode(Step.self))?.step ?? .max) <= steps }.map(\.text)
        try OutputFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: path)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw FineTuningError.unwritable(path: path) }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func append(_ line: some Encodable) throws {
        try handle.write(contentsOf: JSONOutput.encode(line) + Data("\n".utf8))
    }

    deinit { try? handle.close() }
}
