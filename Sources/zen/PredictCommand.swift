import ArgumentParser
import Foundation
import ZenModel

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a task head on every input line.",
        discussion: """
        classification: {"text", "text_pair"?, "id"?} in (other field names with --text-field, --text-pair-field, \
        --id-field, e.g. --text-field sentence for CLUE files), {"id", "label", "logits"} out: the reference's \
        predict.json lines plus the logits (--no-logits leaves them out). label is id2label's name, else the index; \
        id is the input's, else the line's index from 0.
        ner: {"chars": [...]} or {"text": ...} in, {"tokens", "labels" (one per input character), \
        "entities": [{"type", "start", "end" (exclusive), "text"}], "logits" (every real token)} out; \
        characters past max-seq-length get "O" and the line says "truncated": true.
        mlm: {"text", "text_pair"?} with [MASK] tokens in, {"mask_logits", "nsp_logits", "predictions" (top 5)} out.
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "classification, ner or fill-mask (also called mlm).")
    var task: ModelTask

    @OptionGroup var lines: LinesOptions

    @Option(help: "classification: the field holding the text.")
    var textField = "text"

    @Option(help: "classification: the field holding the second text of a pair.")
    var textPairField = "text_pair"

    @Option(help: "classification: the field holding the id.")
    var idField = "id"

    @Flag(help: "classification: write only {\"id\", \"label\"}, the reference's predict.json form.")
    var noLogits = false

    func validate() throws {
        try ModelTask.require(task, in: [.classification, .ner, .fillMask])
        try lines.requireTokenTask(task == .ner)
    }

    func run() throws {
        let model = try model.load()
        let (task, inputPath, maxSeqLength, weighting) = (task, lines.input, lines.maxSeqLength, lines.weighting(for: model.config))
        let (textField, textPairField, idField, noLogits) = (textField, textPairField, idField, noLogits)
        try lines.transformLines(parallel: false) { line in
            var object = JSONObjectBuilder()
            switch task {
            case .classification:
                guard case .object(let fields) = try decodeLine(JSONValue.self, line, path: inputPath) else {
                    throw InputLineError(path: inputPath, line: line.number, message: "not a JSON object")
                }
                func field(_ name: String) -> JSONValue? { fields.first { $0.0 == name }?.1 }
                guard case .string(let text) = field(textField) else {
                    throw InputLineError(path: inputPath, line: line.number, message: "no string field \"\(textField)\"")
                }
                var pair: String?
                switch field(textPairField) {
                case .string(let value): pair = value
                case nil, .null?: pair = nil
                default: throw InputLineError(path: inputPath, line: line.number, message: "\"\(textPairField)\" is not a string")
                }
                object.add("id", raw: field(idField)?.json ?? String(line.index))
                let result = try model.classify([text], pairs: [pair], maxSeqLength: maxSeqLength, weighting: weighting)[0]
                object.add("label", raw: result.label.map(jsonString) ?? String(result.labelIndex))
                if !noLogits { object.add("logits", result.logits) }
            case .ner:
                let input = try decodeLine(TokenInput.self, line, path: inputPath)
                if let id = input.id { object.add("id", raw: id.json) }
                let result = try model.tag(chars: input.chars, maxSeqLength: maxSeqLength, weighting: weighting)
                object.add("tokens", result.tokens)
                object.add("labels", result.labels)
                object.add("entities", raw: "[" + result.entities.map { entity in
                    "{\"type\":\(jsonString(entity.type)),\"start\":\(entity.start),\"end\":\(entity.end),\"text\":\(jsonString(entity.text))}"
                }.joined(separator: ",") + "]")
                object.add("logits", result.logits)
                if result.labeledCount < input.chars.count { object.add("truncated", raw: "true") }
            case .fillMask, .embed:
                let input = try decodeLine(SequenceInput.self, line, path: inputPath)
                if let id = input.id { object.add("id", raw: id.json) }
                let result = try model.fillMask(input.text, pair: input.text_pair, topK: 5, maxSeqLength: maxSeqLength, weighting: weighting)
                object.add("mask_logits", result.masks.map(\.logits))
                if let nextSentence = result.nextSentence { object.add("nsp_logits", nextSentence) }
                object.add("predictions", raw: "[" + result.masks.map { mask in
                    "[" + mask.candidates.map { jsonString($0.token) }.joined(separator: ",") + "]"
                }.joined(separator: ",") + "]")
            }
            return object.json
        }
    }
}
