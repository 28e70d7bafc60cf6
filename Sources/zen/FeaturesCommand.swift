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
        (token); an "id" field is copied to the output. The output has one JSON line per input line, \
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
        let builder = try FeatureBuilder(directory: model, maxSeqLength: lines.maxSeqLength, weighting: lines.weighting(for: try? ZenConfig(contentsOf: model + "/config.json")))
        let labelSet = labels.map { LabelSet($0.split(separator: ",").map(String.init)) }
        let (task, inputPath) = (task, lines.input)
        try lines.transformLines(parallel: true) { line in
            try Self.featuresLine(for: line, task: task, inputPath: inputPath, builder: builder, labelSet: labelSet)
        }
    }

    private static func featuresLine(for line: JSONLine, task: InputLayout, inputPath: String,
                                     builder: FeatureBuilder, labelSet: LabelSet?) throws -> String {
        var object = JSONObjectBuilder()
        let features: InputFeatures
        switch task {
        case .sequence:
            let input = try decodeLine(SequenceInput.self, line, path: inputPath)
            if let id = input.id { object.add("id", raw: id.json) }
            features = try builder.sequenceFeatures(text: input.text, pair: input.text_pair)
        case .token:
            let input = try decodeLine(TokenInput.self, line, path: inputPath)
            if let id = input.id { object.add("id", raw: id.json) }
            if input.labels != nil, labelSet == nil {
                throw InputLineError(path: inputPath, line: line.number, message: "the input has labels; pass --labels to give their ids")
            }
            features = try builder.tokenFeatures(words: input.chars, labels: input.labels, labelSet: labelSet)
        }
        let vocabulary = builder.tokenizer.vocabulary
        object.add("tokens", features.inputIds.map(vocabulary.token(of:)))
        object.add("input_ids", features.inputIds)
        object.add("segment_ids", features.segmentIds)
        object.add("ngram_ids", features.ngrams.map(\.id))
        object.add("ngram_starts", features.ngrams.map(\.start))
        object.add("ngram_lengths", features.ngrams.map(\.length))
        object.add("ngram_freqs", features.ngrams.map(\.frequency))
        object.add("ngram_matrix", raw: "[" + features.fusionMatrix.entries
            .map { "[\($0.row),\($0.column),\($0.value)]" }.joined(separator: ",") + "]")
        if let labelIds = features.labelIds { object.add("label_ids", labelIds) }
        return object.json
    }
}
