import ArgumentParser
import Foundation
import ZenModel
import ZenText
import ZenTraining

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new, randomly initialized ZEN 2.0 checkpoint directory (to fine-tune or pre-train from scratch).",
        discussion: """
        Writes config.json, vocab.txt, ngram.txt (the first --ngram-limit lines of --ngrams: a lexicon sorted by \
        frequency, most frequent first) and model.safetensors, initialized as BERT is (normal weights with \
        initializer_range 0.02, zero biases and padding rows, unit LayerNorm).
        """
    )

    @Option(help: "Output directory (new or empty).") var output: String
    @Option(help: "WordPiece vocabulary, one token a line.") var vocab: String
    @Option(help: "N-gram lexicon, one `ngram,frequency` a line, most frequent first.") var ngrams: String
    @Option(help: "Keep only this many lexicon entries (the most frequent).") var ngramLimit: Int?
    @Option var hiddenSize = 256
    @Option(help: "Character layers.") var numHiddenLayers = 4
    @Option(help: "N-gram layers.") var numHiddenWordLayers = 2
    @Option var numAttentionHeads = 4
    @Option var intermediateSize = 1024
    @Option(help: "N-gram slots per input (the reference's max_ngram_in_seq is 128), stored in config.json as max_ngrams.")
    var maxNgrams = NgramDictionary.slotCount
    @Option(help: "Seed of the initialization.") var seed: UInt64 = 42

    func run() throws {
        let files = FileManager.default
        if let contents = try? files.contentsOfDirectory(atPath: output), !contents.isEmpty {
            throw CLIError("--output \(output) exists and is not empty")
        }
        let tokenizer = try BertTokenizer(vocabularyAt: vocab)
        var lines = try TextFile.lines(at: ngrams)
        if let ngramLimit { lines = Array(lines.prefix(max(0, ngramLimit))) }
        let ngramText = lines.joined(separator: "\n") + "\n"
        let config = try ZenConfig(hiddenSize: hiddenSize, numHiddenLayers: numHiddenLayers, numHiddenWordLayers: numHiddenWordLayers,
                                   numAttentionHeads: numAttentionHeads, intermediateSize: intermediateSize,
                                   vocabSize: tokenizer.vocabulary.count, wordSize: lines.count + 1, maxNgrams: maxNgrams)   // ids are line numbers + 1; 0 pads
        var encoder = ZenEncoder(config: config, pooler: true)
        var random = RandomParameters(seed: seed, standardDeviation: config.initializerRange)
        encoder.walkParameters(&random)
        try Checkpoints.writeModel(encoder, config: config, vocabulary: try TextFile.contents(of: vocab),
                                   ngrams: Data(ngramText.utf8), to: output)
        // Loading checks the lexicon against the vocabulary, as every later command will.
        _ = try NgramDictionary(contentsOf: output + "/ngram.txt", tokenizer: tokenizer)
        let parameters = encoder.namedParameters
        let count = parameters.reduce(0) { $0 + $1.tensor.count }
        struct Summary: Encodable { var output: String, parameters: Int, ngrams: Int }
        print(try JSONOutput.string(Summary(output: output, parameters: count, ngrams: lines.count)))
    }
}
