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
        a text longer than max-seq-length is tagged whole, in overlapping windows (with --long-texts truncate, \
        characters past max-seq-length get "O" and the line says "truncated": true, as in the reference).
        mlm: {"text", "text_pair"?} with [MASK] tokens in, {"mask_logits", "nsp_logits", "predictions" (top 5)} out; \
        as in the reference, [MASK] counts only as a word of its own (zen fill-mask takes every [MASK]).
        """
    )

    enum Task: String, ExpressibleByArgument, CaseIterable { case classification, ner, mlm }

    @OptionGroup var model: ModelOptions

    @Option(help: "classification, ner or mlm.")
    var task: Task

    @OptionGroup var lines: LinesOptions

    @OptionGroup var cap: NgramCapOption

    @OptionGroup var long: LongTextsOption

    @Option(help: "classification: the field holding the text.")
    var textField = "text"

    @Option(help: "classification: the field holding the second text of a pair.")
    var textPairField = "text_pair"

    @Option(help: "classification: the field holding the id.")
    var idField = "id"

    @Flag(help: "classification: write only {\"id\", \"label\"}, the reference's predict.json form.")
    var noLogits = false

    func validate() throws { try lines.requireTokenTask(task == .ner) }

    func run() throws {
        let model = try model.load()
        let (task, inputPath, maxSeqLength, weighting) = (task, lines.input, lines.maxSeqLength, lines.weighting(for: model.config))
        let (ngramCap, longTexts) = (cap.ngramCap, long.longTexts)
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
                let result = try model.classify([text], pairs: [pair], maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: ngramCap)[0]
                object.add("label", raw: result.label.map(jsonString) ?? String(result.labelIndex))
                if !noLogits { object.add("logits", result.logits) }
            case .ner:
                let input = try decodeLine(TokenInput.self, line, path: inputPath)
                if let id = input.id { object.add("id", raw: id.json) }
                let result = try model.tag(chars: input.chars, maxSeqLength: maxSeqLength, weighting: weighting,
                                               ngramCap: ngramCap, longTexts: longTexts)
                object.add("tokens", result.tokens)
                object.add("labels", result.labels)
                object.add("entities", raw: "[" + result.entities.map { entity in
                    "{\"type\":\(jsonString(entity.type)),\"start\":\(entity.start),\"end\":\(entity.end),\"text\":\(jsonString(entity.text))}"
                }.joined(separator: ",") + "]")
                object.add("logits", result.logits)
                if result.labeledCount < input.chars.count { object.add("truncated", raw: "true") }
            case .mlm:
                let input = try decodeLine(SequenceInput.self, line, path: inputPath)
                if let id = input.id { object.add("id", raw: id.json) }
                let result = try model.fillMask(input.text, pair: input.text_pair, topK: 5, maxSeqLength: maxSeqLength, weighting: weighting,
                                                ngramCap: ngramCap, masks: .reference)
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
