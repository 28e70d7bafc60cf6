import ArgumentParser
import Foundation
import ZenModel
import ZenTensor
import ZenText
import ZenTraining

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pre-train a checkpoint (new or released) on pregenerated instances: MLM + NSP, LAMB.",
        discussion: """
        The reference pre-training loop (spec section 7): whole n-gram masked instances from `zen pregenerate`, \
        the n-gram attention masked to the real hits, MLM + next-sentence loss, the global gradient norm clipped \
        to 1, LAMB with the PolyWarmUp schedule (or --optimizer adamw with the fine-tuning schedule). --model may \
        be any ZEN checkpoint: continued pre-training; the MLM and NSP heads it lacks are initialised, and the MLM \
        decoder is the word embedding table (tied), written once. \
        Writes to --output a model directory (config.json with "ngram_attention_mask": true, which fine-tuning and \
        inference follow; vocab.txt, ngram.txt, model.safetensors) and train_log.jsonl, one \
        {"step", "loss", "mlm_loss", "nsp_loss", "lr"} line per optimizer step; with --eval-instances also \
        eval_log.jsonl (held-out MLM accuracy and perplexity after every epoch, every --eval-every steps, at the end). \
        A resumable checkpoint (--output/checkpoint-<step>: model, optimizer state, step) is saved every --save-every, \
        after every epoch and on Ctrl-C or SIGTERM; run the same command with --resume to go on where it stopped.
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "instances.jsonl, or a directory of epoch_<e>.jsonl files (zen pregenerate's output); epoch e reads file e mod count.")
    var instances: String

    @Option(help: "Output directory; must be empty or new unless --overwrite or --resume.")
    var output: String

    @Option(help: "Instances per optimizer step.")
    var batchSize = 32

    @Option(help: "Peak learning rate.")
    var learningRate = 1e-4

    @Option(help: "Fraction of the steps spent warming the learning rate up.")
    var warmupProportion = 0.01

    @Option(help: "Passes over the instances; default: one per epoch file of --instances.")
    var epochs: Int?

    @Option(help: "Train this many optimizer steps instead (the schedule spans them).")
    var maxSteps: Int?

    @Option(help: "lamb (with PolyWarmUp, the reference's) or adamw (with linear warm-up and decay).")
    var optimizer: PreTrainingOptions.OptimizerKind = .lamb

    @Option(help: "Weight decay (not applied to biases and LayerNorm).")
    var weightDecay = 0.01

    @Option(help: "Clip the global gradient norm to this value (the reference: 1).")
    var maxGradNorm = 1.0

    @Option(help: "Dropout probability for hidden states and attention; default: the config's.")
    var dropout: Double?

    @Flag(help: "Keep the instances' order (the reference's parity setting).")
    var noShuffle = false

    @Option(help: "Seed of the shuffling, the dropout and new heads' weights.")
    var seed: UInt64 = 42

    @Option(help: "Split each batch into this many micro-batches (less memory, same step).")
    var gradientAccumulation = 1

    @Option(help: "Held-out instances (zen pregenerate's form) scored for MLM accuracy and perplexity.")
    var evalInstances: String?

    @Option(help: "Also evaluate --eval-instances every this many steps.")
    var evalEvery: Int?


    @OptionGroup var runOptions: TrainingRunOptions

    func validate() throws {
        guard batchSize >= 1, gradientAccumulation >= 1 else {
            throw ValidationError("--batch-size and --gradient-accumulation must be positive")
        }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be positive") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be positive") }
        if epochs != nil, maxSteps != nil { throw ValidationError("give --epochs or --max-steps, not both") }
        guard learningRate > 0, weightDecay >= 0, (0...1).contains(warmupProportion), maxGradNorm > 0 else {
            throw ValidationError("--learning-rate and --max-grad-norm must be positive, --weight-decay not negative, --warmup-proportion in [0, 1]")
        }
        if let dropout, !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1)") }
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be positive") }
        if evalEvery != nil, evalInstances == nil { throw ValidationError("--eval-every needs --eval-instances") }
        if model.precision != .fp32 { throw ValidationError("training runs in fp32; leave out --precision") }
    }

    func run() throws {
        ComputeThreads.set(runOptions.threads)
        let config = try ZenConfig(contentsOf: model.model + "/config.json")
        let files = try Self.epochFiles(instances)
        let epochData = try files.map { try Self.read($0, config: config) }
        let checkpoint = try PreTrainingRun.prepare(output: output, epochSizes: epochData.map(\.count), resume: runOptions.resume, overwrite: runOptions.overwrite)
        let options = checkpoint?.state.options ?? preTrainingOptions(epochFiles: files.count)
        let source = try ZenModel(directory: checkpoint?.directory ?? model.model)
        let heldOut = try evalInstances.map { try Self.read($0, config: config) }
        let optimizer: (any Optimizer)? = try checkpoint.map { checkpoint in
            switch options.optimizer {
            case .lamb: try Checkpoints.readOptimizer(checkpoint, as: LAMB.self, weightDecay: options.weightDecay)
            case .adamw: try Checkpoints.readOptimizer(checkpoint, as: AdamW.self, weightDecay: options.weightDecay)
            }
        }
        let trainer = PreTrainer(model: PreTrainingModel(source, seed: options.seed), epochs: epochData, options: options, optimizer: optimizer)
        var run = try PreTrainingRun(settings: PreTrainingRun.Settings(source: model.model, output: output, evalEvery: evalEvery, saveEvery: runOptions.saveEvery),
                                     trainer: trainer, resumingFrom: checkpoint, heldOut: heldOut)

        var progress = ProgressReporter(total: trainer.totalSteps, startStep: trainer.step)
        progress.log("\(checkpoint == nil ? "pre-training on" : "resuming at step \(trainer.step) of") "
            + "\(epochData.map(\.count).reduce(0, +)) instances in \(files.count) epoch file\(files.count == 1 ? "" : "s"), "
            + "\(trainer.totalSteps) steps, \(options.optimizer.rawValue)")
        try TrainingRunOptions.run(progress) { shouldStop in
            try run.run(shouldStop: shouldStop) { event in
                switch event {
                case .step(let record):
                    progress.update(step: record.step, epoch: record.epoch, loss: record.loss, learningRate: record.learningRate,
                                    examples: record.examples, perplexity: record.parts.map { exp($0.maskedLM) })
                case .evaluated(let step, let result):
                    progress.log(String(format: "step %d: held-out MLM accuracy %.4f, perplexity %.2f, NSP accuracy %.4f",
                                        step, result.maskedLMAccuracy, result.perplexity, result.nextSentenceAccuracy))
                }
            }
        }
    }

    func preTrainingOptions(epochFiles: Int) -> PreTrainingOptions {
        var options = PreTrainingOptions()
        (options.batchSize, options.learningRate, options.warmupProportion) = (batchSize, learningRate, warmupProportion)
        (options.epochs, options.maxSteps, options.optimizer) = (epochs ?? epochFiles, maxSteps, optimizer)
        (options.weightDecay, options.maxGradientNorm, options.dropout) = (weightDecay, maxGradNorm, dropout)
        (options.shuffle, options.seed, options.gradientAccumulation) = (!noShuffle, seed, gradientAccumulation)
        return options
    }

    /// The file itself, or a directory's `epoch_<e>.jsonl` files for e = 0, 1, … (no gaps).
    static func epochFiles(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("--instances \(path): no such file or directory")
        }
        guard isDirectory.boolValue else { return [path] }
        var files: [String] = []
        while FileManager.default.fileExists(atPath: "\(path)/epoch_\(files.count).jsonl") { files.append("\(path)/epoch_\(files.count).jsonl") }
        guard !files.isEmpty else {
            throw CLIError("--instances \(path) has no epoch_0.jsonl: give an instances file, or a directory written by zen pregenerate")
        }
        return files
    }

    /// The instances of `path`, each checked against the model's tables.
    static func read(_ path: String, config: ZenConfig) throws -> [PreTrainingExample] {
        let instances = try PreTrainingInstance.read(contentsOf: path) {
            $0.problem(vocabularySize: config.vocabSize, lexiconSize: config.wordSize - 1, maxSeqLength: FeatureBuilder.maxSeqLengthRange.upperBound,
                       ngramSlots: config.maxNgrams)
        }
        guard !instances.isEmpty else { throw CLIError("\(path) has no instances") }
        return instances.map { PreTrainingExample($0, ngramSlots: config.maxNgrams) }
    }
}

extension PreTrainingOptions.OptimizerKind: ExpressibleByArgument {}
