import ArgumentParser
import Foundation
import ZenText
import ZenModel

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write the model inputs (tokens, ids, n-gram hits, fusion matrix) of every input line.",
        discussion: """
        Input lines are {"text": ..., "text_pair": ...} (sequence) or {"chars": [...], "labels": [...]} \
        (token); an "id" field is copied to the output. With --format text every non-blank line is one text \
        (for token, its Unicode scalars are the characters). The output has one JSON line per input line, \
        in order, and is written only when every line succeeded.
        """
    )

    @Option(help: "Directory holding vocab.txt and ngram.txt.")
    var model: String

    @Option(help: "sequence (classification, pairs) or token (NER, segmentation).")
    var task: InputLayout

    @Option(help: "Ordered label list for token tasks, comma separated; ids start at 1. [CLS] and [SEP] are appended when absent.")
    var labels: String?

    @OptionGroup var lines: LinesOptions

    func validate() throws {
        try lines.requireTokenTask(task == .token)
    }

    func run() throws {
        let config = try? ZenConfig(contentsOf: model + "/config.json")
        let builder = try FeatureBuilder(directory: model, maxSeqLength: lines.maxSeqLength(for: config), weighting: lines.weighting(for: config))
        let labelSet = labels.map { LabelSet($0.split(separator: ",").map(String.init)) }
        let task = task
        try lines.transformLines("features", parallel: true) { line in
            switch task {
            case .sequence:
                let input = try line.decode(SequenceInput.self)
                return OutputLine(id: input.id, result: FeaturesLine(try builder.sequenceFeatures(text: input.text, pair: input.text_pair), builder: builder))
            case .token:
                let input = try line.decode(TokenInput.self)
                if input.labels != nil, labelSet == nil {
                    throw line.failure("the input has labels; pass --labels to give their ids")
                }
                let features = try builder.tokenFeatures(words: input.chars, labels: input.labels, labelSet: labelSet)
                return OutputLine(id: input.id, result: FeaturesLine(features, builder: builder))
            }
        }
    }
}

/// The model inputs of one line, as the reference's feature code computes them.
struct FeaturesLine: Encodable {
    var features: InputFeatures
    var tokens: [String]

    init(_ features: InputFeatures, builder: FeatureBuilder) {
        self.features = features
        tokens = features.inputIds.map(builder.tokenizer.vocabulary.token(of:))
    }

    private enum CodingKeys: String, CodingKey {
        case tokens
        case inputIds = "input_ids", segmentIds = "segment_ids", labelIds = "label_ids"
        case ngramIds = "ngram_ids", ngramStarts = "ngram_starts", ngramLengths = "ngram_lengths", ngramFreqs = "ngram_freqs"
        case ngramMatrix = "ngram_matrix"
    }

    /// The kept n-gram hits field by field, and the fusion matrix's non-zero entries as `[row, column, value]`.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(features.inputIds, forKey: .inputIds)
        try container.encode(features.segmentIds, forKey: .segmentIds)
        try container.encodeIfPresent(features.labelIds, forKey: .labelIds)
        try container.encode(features.ngrams.map(\.id), forKey: .ngramIds)
        try container.encode(features.ngrams.map(\.start), forKey: .ngramStarts)
        try container.encode(features.ngrams.map(\.length), forKey: .ngramLengths)
        try container.encode(features.ngrams.map(\.frequency), forKey: .ngramFreqs)
        var matrix = container.nestedUnkeyedContainer(forKey: .ngramMatrix)
        for entry in features.fusionMatrix.entries {
            var triple = matrix.nestedUnkeyedContainer()
            try triple.encode(entry.row)
            try triple.encode(entry.column)
            try triple.encode(number: entry.value)
        }
    }
}
