import ArgumentParser
import Foundation
import ZenModel
import ZenTensor
import ZenText
import ZenTraining

struct FineTuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a checkpoint for classification or token tagging (NER, word segmentation).",
        discussion: """
        Writes to --output: config.json (num_labels, id2label, the n-gram weighting), vocab.txt, ngram.txt, \
        model.safetensors (the best by dev metric with --dev, else the last) and train_log.jsonl, one \
        {"step", "loss", "lr"} line per optimizer step; with --dev also eval_log.jsonl. The arithmetic is the \
        reference scripts': mean cross-entropy, AdamW (no decay on biases and LayerNorm), linear warm-up and decay. \
        Ctrl-C saves a resumable checkpoint in --output/checkpoint; run the same command with --resume to go on.
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "classification or ner (token tagging: BIO, BIOS, BIOES or BMES tags).")
    var task: FineTuningTask

    @Option(help: "Training file: CLUE-style JSON Lines (classification) or char-per-line tags (ner).")
    var train: String

    @Option(help: "Dev file, evaluated after every epoch (and every --eval-every steps); the best model is kept.")
    var dev: String?

    @Option(help: "Output directory; must be empty or new unless --overwrite or --resume.")
    var output: String

    @Option(help: "Maximum tokens per input, [CLS] and [SEP] included.")
    var maxSeqLength = 128

    @Option(help: "Examples per optimizer step.")
    var batchSize = 32

    @Option(help: "Peak learning rate.")
    var learningRate = 2e-5

    @Option(help: "AdamW weight decay (not applied to biases and LayerNorm).")
    var weightDecay = 0.01

    @Option(help: "Fraction of the steps spent warming the learning rate up.")
    var warmupRatio = 0.1

    @Option(help: "Passes over the training file.")
    var epochs = 3

    @Option(help: "Dropout probability for hidden states and attention; default: the config's.")
    var dropout: Double?

    @Flag(help: "Keep the training file's order (the reference's parity setting).")
    var noShuffle = false

    @Option(help: "Seed of the shuffling, the dropout and a new classifier's weights.")
    var seed: UInt64 = 42

    @Option(parsing: .upToNextOption, help: "The labels, in class order (space or comma separated); default: their order of first appearance.")
    var labels: [String] = []

    @Option(help: "Fusion matrix weighting: frequency, reference-sequence, reference-token or none (no n-grams).")
    var weighting: NgramWeighting = .frequency

    @Option(help: "Also evaluate on --dev every this many steps.")
    var evalEvery: Int?

    @Option(help: "Split each batch into this many micro-batches (less memory, same step).")
    var gradientAccumulation = 1

    @Option(help: "Clip the global gradient norm to this value (off by default, as in the reference).")
    var maxGradNorm: Double?

    @Option(help: "Label smoothing ε of the training loss, in [0, 1) (torch's label_smoothing; off by default, as in the reference).")
    var labelSmoothing: Double?

    @Option(help: "Stop after this many optimizer steps (the schedule still spans --epochs): for trial runs and benchmarks.")
    var maxSteps: Int?

    @Flag(help: "Continue the run saved in --output/checkpoint.")
    var resume = false

    @Flag(help: "Write into a non-empty --output.")
    var overwrite = false

    @Option(help: "Compute threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var fields: DataOptions

    func validate() throws {
        try validateMaxSeqLength(maxSeqLength)
        guard batchSize >= 1, epochs >= 1, gradientAccumulation >= 1, threads >= 1 else {
            throw ValidationError("--batch-size, --epochs, --gradient-accumulation and --threads must be positive")
        }
        guard learningRate > 0, weightDecay >= 0, (0...1).contains(warmupRatio) else {
            throw ValidationError("--learning-rate must be positive, --weight-decay not negative, --warmup-ratio in [0, 1]")
        }
        if let dropout, !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1)") }
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be positive") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be positive") }
        if let maxGradNorm, maxGradNorm <= 0 { throw ValidationError("--max-grad-norm must be positive") }
        if let labelSmoothing, !(0..<1).contains(labelSmoothing) { throw ValidationError("--label-smoothing must be in [0, 1) (got \(labelSmoothing))") }
        if model.precision != .fp32 { throw ValidationError("training runs in fp32; leave out --precision") }
        if weighting == .referenceToken, task != .ner { throw ValidationError(TextError.weightingNeedsTokenTask(weighting).description) }
    }

    var checkpointDirectory: String { output + "/checkpoint" }

    func run() throws {
        ComputeThreads.set(threads)
        let state = try prepareOutput()
        let labels = try state.map { ClassLabels(task: task, names: $0.labels) }
            ?? (labels.isEmpty ? fields.labels(task: task, path: train)
                : ClassLabels(task: task, names: labels.flatMap { $0.split(separator: ",").map(String.init) }))
        let options = state?.options ?? fineTuningOptions
        let source = state == nil ? model.model : checkpointDirectory
        let pretrained = try ZenModel(directory: source)
        // Training is at --max-seq-length, n-gram cap included, whatever length the source was trained at.
        let builder = try pretrained.featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: .reference)
        let examples = try fields.examples(task: task, path: train, builder: builder, labels: labels)
        // The dev file is checked now, not after the first epoch: a label training never saw is an error.
        if let dev { _ = try fields.examples(task: task, path: dev, builder: builder, labels: labels) }
        let trainable = try TrainableModel(pretrained, task: task, classNames: labels.classNames, seed: options.seed)
        let optimizer = try state.map { try Checkpoints.readOptimizer(checkpointDirectory, weightDecay: options.weightDecay, steps: $0.step) }
        var tuner = FineTuner(model: trainable, examples: examples, options: options, optimizer: optimizer)
        var best = (metric: state?.bestMetric, step: state?.bestStep)
        var progress = ProgressReporter(total: tuner.totalSteps, startStep: tuner.step)
        progress.log("\(state == nil ? "fine-tuning" : "resuming at step \(tuner.step) of") \(examples.count) examples, "
            + "\(tuner.stepsPerEpoch) steps an epoch, \(tuner.totalSteps) steps, labels: \(labels.names.joined(separator: " "))")
        let trainLog = try LogFile(output + "/train_log.jsonl", keepingSteps: tuner.step)
        let evalLog = try dev.map { _ in try LogFile(output + "/eval_log.jsonl", keepingSteps: tuner.step) }

        func trainingState() -> TrainingState {
            TrainingState(step: tuner.step, options: options, task: task.rawValue, labels: labels.names, weighting: weighting.rawValue,
                          maxSeqLength: maxSeqLength, bestMetric: best.metric, bestStep: best.step)
        }
        Interrupt.install()
        var trainingSeconds = 0.0, trainedExamples = 0
        while !tuner.isFinished, maxSteps.map({ tuner.step < $0 }) ?? true {
            if Interrupt.requested {
                try Checkpoints.writeResumable(tuner, state: trainingState(), source: model.model, to: checkpointDirectory)
                progress.log("interrupted after step \(tuner.step); saved \(checkpointDirectory) (continue with --resume)")
                throw ExitCode(130)
            }
            let record: StepRecord
            let started = Date()
            do {
                record = try tuner.trainStep()
                trainingSeconds += Date().timeIntervalSince(started)
                trainedExamples += record.examples
            } catch let error as FineTuningError {
                // The parameters are still those of the last good step: keep them resumable, and
                // as the model when no better one was saved.
                try Checkpoints.writeResumable(tuner, state: trainingState(), source: model.model, to: checkpointDirectory)
                if best.step == nil { try Checkpoints.writeModel(tuner.model, source: model.model, weighting: weighting, to: output) }
                throw CLIError("\(error)")
            }
            try trainLog.append("{\"step\":\(record.step),\"loss\":\(record.loss),\"lr\":\(record.learningRate)}")
            progress.update(step: record.step, epoch: record.epoch, loss: record.loss, learningRate: record.learningRate, examples: record.examples)
            let epochEnds = record.step % tuner.stepsPerEpoch == 0
            if let dev, epochEnds || evalEvery.map({ record.step % $0 == 0 }) == true {
                let (metric, json) = try evaluate(tuner.model.inferenceModel, task: task, path: dev, data: fields,
                                                  maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: .reference)
                try evalLog?.append("{\"step\":\(record.step),\"epoch\":\(record.epoch + 1),\"dev\":\(json)}")
                let improved = best.metric.map { metric > $0 } ?? true
                progress.log("step \(record.step): dev \(task == .classification ? "accuracy" : "F1") \(String(format: "%.4f", metric))"
                    + (improved ? " (best so far, saved)" : ""))
                if improved {
                    best = (metric, record.step)
                    try Checkpoints.writeModel(tuner.model, source: model.model, weighting: weighting, to: output)
                }
            }
            if epochEnds, !tuner.isFinished {
                try Checkpoints.writeResumable(tuner, state: trainingState(), source: model.model, to: checkpointDirectory)
            }
        }
        if dev == nil { try Checkpoints.writeModel(tuner.model, source: model.model, weighting: weighting, to: output) }
        try? FileManager.default.removeItem(atPath: checkpointDirectory)
        var summary = JSONObjectBuilder()
        summary.add("steps", raw: "\(tuner.step)")
        summary.add("output", raw: jsonString(output))
        summary.add("train_seconds", raw: String(format: "%.3f", trainingSeconds))
        summary.add("examples_per_second", raw: String(format: "%.3f", Double(trainedExamples) / max(trainingSeconds, 1e-9)))
        if let metric = best.metric, let step = best.step {
            summary.add("best_dev", raw: "\(metric)")
            summary.add("best_step", raw: "\(step)")
        }
        print(summary.json)
    }

    var fineTuningOptions: FineTuningOptions {
        var options = FineTuningOptions()
        (options.batchSize, options.learningRate, options.weightDecay, options.warmupRatio) = (batchSize, learningRate, weightDecay, warmupRatio)
        (options.epochs, options.dropout, options.shuffle, options.seed) = (epochs, dropout, !noShuffle, seed)
        (options.gradientAccumulation, options.maxGradientNorm, options.labelSmoothing) = (gradientAccumulation, maxGradNorm, labelSmoothing)
        return options
    }

    /// Checks the output directory; returns the saved state when resuming.
    private func prepareOutput() throws -> TrainingState? {
        let files = FileManager.default
        if resume {
            guard files.fileExists(atPath: checkpointDirectory + "/trainer_state.json") else {
                throw CLIError("nothing to resume: \(checkpointDirectory)/trainer_state.json does not exist")
            }
            let state = try Checkpoints.readState(checkpointDirectory)
            guard state.task == task.rawValue, state.weighting == weighting.rawValue, state.maxSeqLength == maxSeqLength else {
                throw CLIError("\(checkpointDirectory) was saved by a run with --task \(state.task) --weighting \(state.weighting) "
                    + "--max-seq-length \(state.maxSeqLength); resume with the same settings")
            }
            return state
        }
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("--output \(output) is a file, not a directory") }
            if !(try files.contentsOfDirectory(atPath: output)).isEmpty, !overwrite {
                throw CLIError("--output \(output) exists and is not empty; pass --overwrite to write into it, or --resume to continue its run")
            }
        }
        try files.createDirectory(atPath: output, withIntermediateDirectories: true)
        for stale in ["train_log.jsonl", "eval_log.jsonl", "checkpoint"] { try? files.removeItem(atPath: output + "/" + stale) }
        return nil
    }
}

/// A JSON Lines log appended to line by line. Lines of steps after `keepingSteps` (left by a
/// run that went on past its last checkpoint) are dropped when a run resumes.
final class LogFile {
    private let handle: FileHandle

    init(_ path: String, keepingSteps steps: Int) throws {
        var kept = ""
        if steps > 0, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                guard let data = line.data(using: .utf8),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let step = object["step"] as? Int, step <= steps else { continue }
                kept += line + "\n"
            }
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(kept.utf8)), let handle = FileHandle(forWritingAtPath: path) else {
            throw CLIError("cannot write \(path)")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func append(_ line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    deinit { try? handle.close() }
}
