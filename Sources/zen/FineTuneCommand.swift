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
        A resumable checkpoint (--output/checkpoint-<step>) is saved every --save-every (default: every 10 minutes), \
        after every epoch, and on Ctrl-C or SIGTERM, which stop the run after the step in progress; run the same command \
        with --resume to go on exactly where it stopped.
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "classification or ner (token tagging: BIO, BIOS, BIOES or BMES tags).")
    var task: ModelTask

    @Option(help: "Training file: CLUE-style JSON Lines (classification) or char-per-line tags (ner).")
    var train: String

    @Option(help: "Dev file, evaluated after every epoch (and every --eval-every steps); the best model is kept.")
    var dev: String?

    @Option(help: "Output directory; must be empty or new unless --overwrite or --resume.")
    var output: String

    @Option(help: maxSeqLengthHelp)
    var maxSeqLength: Int?

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

    @Option(help: "true: the n-gram encoder attends only to the real hits, as pre-training does; false: all 128 slots, as the reference fine-tunes. Default: the source's config (ngram_attention_mask; absent: false). The model records it.")
    var ngramAttentionMask: Bool?

    @Option(help: "Stop after this many optimizer steps (the schedule still spans --epochs): for trial runs and benchmarks.")
    var maxSteps: Int?


    @OptionGroup var fields: DataOptions

    @OptionGroup var runOptions: TrainingRunOptions

    func validate() throws {
        try ModelTask.require(task, in: [.classification, .ner])
        try validateMaxSeqLength(maxSeqLength)
        guard batchSize >= 1, epochs >= 1, gradientAccumulation >= 1 else {
            throw ValidationError("--batch-size, --epochs and --gradient-accumulation must be positive")
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

    func run() throws {
        ComputeThreads.set(runOptions.threads)
        let maxSeqLength = resolvedMaxSeqLength(maxSeqLength, for: try ZenConfig(contentsOf: model.model + "/config.json"))
        let checkpoint = try FineTuningRun.prepare((output, task, weighting, maxSeqLength), resume: runOptions.resume, overwrite: runOptions.overwrite)
        let state = checkpoint?.state
        let labels = try state.map { ClassLabels(task: task, names: $0.labels) }
            ?? (labels.isEmpty ? fields.labels(task: task, path: train)
                : ClassLabels(task: task, names: labels.flatMap { $0.split(separator: ",").map(String.init) }))
        let options = state?.options ?? fineTuningOptions
        let settings = FineTuningRun.Settings(source: model.model, output: output, task: task, labels: labels, weighting: weighting,
                                              maxSeqLength: maxSeqLength, evalEvery: evalEvery, maxSteps: maxSteps, saveEvery: runOptions.saveEvery)
        let pretrained = try ZenModel(directory: checkpoint?.directory ?? model.model)
        // Training is at --max-seq-length, n-gram cap included, whatever length the source was trained at.
        let builder = try pretrained.featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: .reference)
        let examples = try fields.examples(task: task, path: train, builder: builder, labels: labels)
        // The dev file is checked now, not after the first epoch: a label training never saw is an error.
        if let dev { _ = try fields.examples(task: task, path: dev, builder: builder, labels: labels) }
        let trainable = try TrainableModel(pretrained, task: task, classNames: labels.classNames, seed: options.seed)
        let optimizer = try checkpoint.map { try Checkpoints.readOptimizer($0, as: AdamW.self, weightDecay: options.weightDecay) }
        let tuner = FineTuner(model: trainable, examples: examples, options: options, optimizer: optimizer)
        var run = try FineTuningRun(settings: settings, tuner: tuner, resumingFrom: checkpoint, evaluate: dev.map { [task, maxSeqLength, weighting, fields] dev in
            { model in try evaluate(model, task: task, path: dev, data: fields, maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: .reference) }
        })

        var progress = ProgressReporter(total: run.plannedSteps, startStep: tuner.step)
        progress.log("\(state == nil ? "fine-tuning" : "resuming at step \(tuner.step) of") \(examples.count) examples, "
            + "\(tuner.stepsPerEpoch) steps an epoch, \(run.plannedSteps) steps, labels: \(labels.names.joined(separator: " "))")
        if tuner.schedule.isStretched {
            progress.log("\(examples.count) examples × \(options.epochs) epochs are fewer than one batch of \(options.batchSize): "
                + "the reference's schedule would have 0 steps; it spans the run's \(tuner.schedule.totalSteps) steps instead")
        }
        try TrainingRunOptions.run(progress) { shouldStop in
            try run.run(shouldStop: shouldStop) { event in
                switch event {
                case .step(let record):
                    progress.update(step: record.step, epoch: record.epoch, loss: record.loss, learningRate: record.learningRate, examples: record.examples)
                case .evaluated(let step, let metric, let improved):
                    progress.log("step \(step): dev \(task == .classification ? "accuracy" : "F1") \(String(format: "%.4f", metric))"
                        + (improved ? " (best so far, saved)" : ""))
                }
            }
        }
    }

    var fineTuningOptions: FineTuningOptions {
        var options = FineTuningOptions()
        (options.batchSize, options.learningRate, options.weightDecay, options.warmupRatio) = (batchSize, learningRate, weightDecay, warmupRatio)
        (options.epochs, options.dropout, options.shuffle, options.seed) = (epochs, dropout, !noShuffle, seed)
        (options.gradientAccumulation, options.maxGradientNorm, options.labelSmoothing) = (gradientAccumulation, maxGradNorm, labelSmoothing)
        options.ngramAttentionMask = ngramAttentionMask
        return options
    }
}
