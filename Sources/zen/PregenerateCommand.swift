import ArgumentParser
import Foundation
import ZenTensor
import ZenText

struct PregenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pregenerate",
        abstract: "Make pre-training instances from a corpus: sentence pairs with whole n-gram masking.",
        discussion: """
        The corpus: one sentence or paragraph a line, documents separated by blank lines; every file is documents of \
        its own. Lines that tokenize to nothing are left out. Every line that has a next line in its document is the \
        first text A of one instance per epoch; B is A's next line half of the time (next_sentence_label 0), else a \
        random line of another document (label 1) or, when the corpus is a single document, a random line other than \
        A and its next. The last line of a document is a B only. The longer text loses tokens from its end (B when \
        equally long) until [CLS] A [SEP] B [SEP] fits --max-seq-length.

        Masking: each text is cut into units by greedy longest match of the lexicon's n-grams (2 to 7 tokens), the \
        rest single tokens; the units of both texts are shuffled and taken whole while the masked tokens stay within \
        min(--max-predictions, max(1, round(--masked-lm-prob x real tokens))) (round half to even; a unit that would \
        pass it is skipped). A chosen token becomes [MASK] 80% of the time, a random token 10% (uniform over the \
        vocabulary but [PAD], [UNK], [CLS], [SEP], [MASK] and [unusedN]), itself 10%. The n-gram hits are searched \
        over the masked tokens, as many kept as the model's n-gram slots allow (config.json's max_ngrams, else 128).

        Writes --output/epoch_<e>.jsonl (one instance a line, in the reference's instances.jsonl form) and \
        epoch_<e>_metrics.json ({"max_seq_len", "num_training_examples"}) for e = 0 ..< --epochs, each epoch with \
        pairs and masks of its own; the same inputs and --seed give the same files, byte for byte, on any number of \
        threads.
        """
    )

    @Option(help: "Directory with vocab.txt and ngram.txt (a model directory, or any directory with both).")
    var model: String

    @Option(parsing: .upToNextOption, help: "Corpus files (or - for standard input).")
    var corpus: [String]

    @Option(help: "Output directory; must be empty or new unless --overwrite.")
    var output: String

    @Option(help: "Tokens per instance, [CLS] and both [SEP]s included (\(Self.maxSeqLengthRange.lowerBound)...\(Self.maxSeqLengthRange.upperBound)).")
    var maxSeqLength: Int

    @Option(help: "The most tokens masked in one instance.")
    var maxPredictions = 20

    @Option(help: "Share of an instance's real tokens (all but [CLS] and [SEP]) to mask, in (0, 1].")
    var maskedLmProb = 0.15

    @Option(help: "Epochs to write, each with pairs and masks of its own.")
    var epochs = 1

    @Option(help: "Seed of the pairs and the masks.")
    var seed: UInt64 = 42

    @Flag(help: "Write into a non-empty --output (epoch files beyond --epochs from an earlier run are removed).")
    var overwrite = false

    @Option(help: "Threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    /// At least a token of A and of B beside `[CLS]` and two `[SEP]`s; at most what the feature builder takes.
    static let maxSeqLengthRange = InstanceGenerator.minimumMaxSeqLength...FeatureBuilder.maxSeqLengthRange.upperBound

    /// Instances made (in parallel) and written before the next ones are made, which bounds the memory.
    static let blockSize = 4096

    func validate() throws {
        guard Self.maxSeqLengthRange.contains(maxSeqLength) else {
            throw ValidationError("--max-seq-length \(maxSeqLength) is out of range: it must be between \(Self.maxSeqLengthRange.lowerBound) "
                + "and \(Self.maxSeqLengthRange.upperBound), room for [CLS], two [SEP]s and a token of each text")
        }
        guard maskedLmProb > 0, maskedLmProb <= 1 else { throw ValidationError("--masked-lm-prob must be in (0, 1] (got \(maskedLmProb))") }
        guard maxPredictions >= 1 else { throw ValidationError("--max-predictions must be at least 1 (got \(maxPredictions))") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1 (got \(epochs))") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        guard !corpus.isEmpty else { throw ValidationError("give at least one --corpus file") }
    }

    func run() throws {
        ComputeThreads.set(threads)
        let started = Date()
        try checkOutput()
        for file in ["vocab.txt", "ngram.txt"] where !FileManager.default.fileExists(atPath: model + "/" + file) {
            throw CLIError("--model \(model) has no \(file): pregenerate needs the vocabulary (vocab.txt) and the n-gram lexicon "
                + "(ngram.txt) of the model to pre-train; name its directory")
        }
        let builder = try FeatureBuilder(directory: model, maxSeqLength: maxSeqLength)
        let corpus = try PreTrainingCorpus(paths: corpus, tokenizer: builder.tokenizer)
        let options = InstanceGenerator.Options(maxPredictions: maxPredictions, maskedLMProbability: maskedLmProb, seed: seed)
        let generator = try InstanceGenerator(builder: builder, corpus: corpus, options: options)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)

        var progress = ProgressReporter(total: epochs * generator.instanceCount, startStep: 0)
        progress.log("\(corpus.documentCount) documents, \(corpus.lineCount) lines, \(corpus.tokenCount) tokens: "
            + "\(epochs) epoch\(epochs == 1 ? "" : "s") of \(generator.instanceCount) instances")
        var total = Tally()
        for epoch in 0..<epochs {
            let tally = try write(epoch: epoch, generator, progress: &progress)
            progress.log("epoch \(epoch): \(tally.instances) instances, \(tally.maskedShare) of the real tokens masked, "
                + "\(tally.randomShare) random next sentences")
            total.add(tally)
        }
        progress.finish()
        let removed = try removeStaleEpochs()
        if !removed.isEmpty { progress.log("removed \(removed.joined(separator: ", ")), left by an earlier run with more epochs") }
        progress.log("zen pregenerate: \(corpus.documentCount) documents, \(corpus.lineCount) lines, \(epochs) epoch\(epochs == 1 ? "" : "s") of "
            + "\(generator.instanceCount) instances in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; "
            + "\(total.maskedShare) of the real tokens masked, \(total.randomShare) random next sentences; written to \(output)")
    }

    /// A new or empty directory, or with `--overwrite` any directory; checked before anything is read.
    private func checkOutput() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw CLIError("--output \(output) is a file, not a directory; name a directory") }
        if !overwrite, !(try FileManager.default.contentsOfDirectory(atPath: output)).isEmpty {
            throw CLIError("--output \(output) exists and is not empty; pass --overwrite to write into it, or choose another --output")
        }
    }

    /// What the summary counts.
    private struct Tally {
        var instances = 0, realTokens = 0, masked = 0, random = 0

        mutating func add(_ instance: PreTrainingInstance) {
            instances += 1
            realTokens += instance.inputIds.count - 3
            masked += instance.maskedPositions.count
            random += Int(instance.nextSentenceLabel)
        }

        mutating func add(_ other: Tally) {
            (instances, realTokens, masked, random) = (instances + other.instances, realTokens + other.realTokens,
                                                       masked + other.masked, random + other.random)
        }

        var maskedShare: String { String(format: "%.1f%%", 100 * Double(masked) / Double(max(1, realTokens))) }
        var randomShare: String { String(format: "%.1f%%", 100 * Double(random) / Double(max(1, instances))) }
    }

    /// Writes `epoch_<epoch>.jsonl` and its metrics, each whole or not at all.
    private func write(epoch: Int, _ generator: InstanceGenerator, progress: inout ProgressReporter) throws -> Tally {
        var tally = Tally()
        let path = output + "/epoch_\(epoch).jsonl"
        try OutputFile.write(to: path) { sink in
            for start in stride(from: 0, to: generator.instanceCount, by: Self.blockSize) {
                let indices = Array(start..<min(start + Self.blockSize, generator.instanceCount))
                let made = try concurrentMap(indices) { index in
                    let instance = generator.instance(index, epoch: epoch)
                    return (instance, try JSONOutput.string(instance) + "\n")
                }
                for (instance, line) in made {
                    tally.add(instance)
                    try sink.write(line)
                }
                progress.advance(to: epoch * generator.instanceCount + indices.last! + 1, unit: "instances")
            }
        }
        struct Metrics: Encodable {
            var numTrainingExamples: Int, maxSeqLen: Int
            enum CodingKeys: String, CodingKey { case numTrainingExamples = "num_training_examples", maxSeqLen = "max_seq_len" }
        }
        try OutputFile.write(Data((try JSONOutput.string(Metrics(numTrainingExamples: tally.instances, maxSeqLen: maxSeqLength)) + "\n").utf8),
                             to: output + "/epoch_\(epoch)_metrics.json")
        return tally
    }

    /// Removes the epoch files of an earlier run beyond this run's epochs, which a trainer reading
    /// the directory would otherwise take for this run's; returns their names.
    private func removeStaleEpochs() throws -> [String] {
        let stale = try FileManager.default.contentsOfDirectory(atPath: output).filter { name in
            guard name.hasPrefix("epoch_") else { return false }
            let rest = name.dropFirst("epoch_".count)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard let epoch = Int(digits), ["_metrics.json", ".jsonl"].contains(String(rest.dropFirst(digits.count))) else { return false }
            return epoch >= epochs
        }
        for name in stale { try FileManager.default.removeItem(atPath: output + "/" + name) }
        return stale.sorted()
    }
}
