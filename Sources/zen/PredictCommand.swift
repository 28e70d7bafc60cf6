import ArgumentParser
import Foundation
import ZenModel

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a task head on every input line.",
        discussion: """
        classification: {"text", "text_pair"?} in, {"label", "logits"} out (label: id2label's name, else the index).
        ner: {"chars": [...]} or {"text": ...} in, {"tokens", "labels" (one per input character), \
        "entities": [{"type", "start", "end" (exclusive), "text"}], "logits" (every real token)} out; \
        characters past max-seq-length get "O" and the line says "truncated": true.
        mlm: {"text", "text_pair"?} with [MASK] tokens in, {"mask_logits", "nsp_logits", "predictions" (top 5)} out.
        """
    )

    enum Task: String, ExpressibleByArgument, CaseIterable { case classification, ner, mlm }

    @OptionGroup var model: ModelOptions

    @Option(help: "classification, ner or mlm.")
    var task: Task

    @OptionGroup var lines: LinesOptions

    func validate() throws { try lines.requireTokenTask(task == .ner) }

    func run() throws {
        let model = try model.load()
        let (task, inputPath, maxSeqLength, weighting) = (task, lines.input, lines.maxSeqLength, lines.weighting)
        try lines.transformLines(parallel: false) { line in
            var object = JSONObjectBuilder()
            switch task {
            case .classification:
                let input = try decodeLine(SequenceInput.self, line, path: inputPath)
                if let id = input.id { object.add("id", raw: id.json) }
                let result = try model.classify([input.text], pairs: [input.text_pair], maxSeqLength: maxSeqLength, weighting: weighting)[0]
                object.add("label", raw: result.label.map(jsonString) ?? String(result.labelIndex))
                object.add("logits", result.logits)
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
            case .mlm:
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
