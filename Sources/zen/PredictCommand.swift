import ArgumentParser
import Foundation
import ZenModel
import ZenText

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a task head on every input line.",
        discussion: """
        classification: {"text" (or "sentence"), "text_pair"?, "id"?} in (other field names with --text-field, \
        --text-pair-field, --id-field), {"id", "label", "index", "score", "logits", "probabilities"} out: the \
        reference's predict.json lines plus the logits and their softmax (--no-logits writes only {"id", "label"}). \
        label is id2label's name, else the index; score is its probability; id is the input's, else the line's index from 0.
        ner: {"chars": [...]} or {"text": ...} in, {"tokens", "labels" (one per input character), \
        "entities": [{"type", "start", "end" (exclusive), "text"}], "logits" (every real token), "truncated"} out; \
        a text longer than max-seq-length is tagged whole, in overlapping windows (with --long-texts truncate, \
        characters past max-seq-length get "O" and the line says "truncated": true, as in the reference).
        mlm: {"text", "text_pair"?} with [MASK] tokens in, {"mask_logits", "nsp_logits", "predictions" (top 5 tokens), \
        "scores" (their probabilities)} out; as in the reference, [MASK] counts only as a word of its own \
        (zen fill-mask takes every [MASK]).
        With --format text every non-blank input line is one text.
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "classification, ner or fill-mask (also called mlm).")
    var task: ModelTask

    @OptionGroup var lines: LinesOptions

    @OptionGroup var fields: FieldOptions

    @OptionGroup var cap: NgramCapOption

    @OptionGroup var long: LongTextsOption

    @Flag(help: "classification: write only {\"id\", \"label\"}, the reference's predict.json form.")
    var noLogits = false

    @OptionGroup var batch: BatchOption

    func validate() throws {
        try ModelTask.require(task, in: [.classification, .ner, .fillMask])
        try lines.requireTokenTask(task == .ner)
        if lines.format == .text, fields.textField != nil || fields.textPairField != nil {
            throw ValidationError("--text-field and --text-pair-field name fields of JSON lines; with --format text each line is the text")
        }
    }

    func run() throws {
        let model = try model.load()
        let (maxSeqLength, weighting) = (lines.maxSeqLength(for: model.config), lines.weighting(for: model.config))
        let (fields, noLogits) = (fields.classification(), noLogits)
        let (ngramCap, longTexts) = (cap.ngramCap, long.longTexts)
        switch task {
        case .classification:
            try lines.transformBatches("predict", batchSize: batch.batchSize, decode: { line in (line.index, try fields.read(line)) },
                                       length: { $0.1.text.utf8.count + ($0.1.pair?.utf8.count ?? 0) }) { inputs in
                let results = try model.classify(inputs.map(\.1.text), pairs: inputs.map(\.1.pair), maxSeqLength: maxSeqLength,
                                                 weighting: weighting, ngramCap: ngramCap, batchSize: inputs.count)
                return zip(inputs, results).map { input, result in
                    let id = input.1.id ?? .integer(Int64(input.0))
                    if noLogits { return OutputLine(id: id, result: ["label": result.classLabel]) }
                    return OutputLine(id: id, result: result)
                }
            }
        case .ner:
            try lines.transformBatches("predict", batchSize: batch.batchSize, decode: { try $0.decode(TokenInput.self) },
                                       length: { $0.chars.count }) { inputs in
                let results = try model.tag(sentences: inputs.map(\.chars), maxSeqLength: maxSeqLength, weighting: weighting,
                                            ngramCap: ngramCap, longTexts: longTexts, batchSize: inputs.count)
                return zip(inputs, results).map { OutputLine(id: $0.id, result: $1) }
            }
        case .fillMask, .embed:
            try lines.transformLines("predict", parallel: false) { line in
                let input = try line.decode(SequenceInput.self)
                let result = try model.fillMask(input.text, pair: input.text_pair, topK: 5, maxSeqLength: maxSeqLength, weighting: weighting,
                                                ngramCap: ngramCap, masks: .reference)
                return OutputLine(id: input.id, result: MaskedLMLine(masks: result.masks, nextSentence: result.nextSentence))
            }
        }
    }
}

/// `{"mask_logits": [[V] per [MASK]], "nsp_logits": [2], "predictions": [[top tokens] per [MASK]],
/// "scores": [[their probabilities] per [MASK]]}`
struct MaskedLMLine: Encodable {
    var masks: [MaskPrediction]
    var nextSentence: [Float]?

    private enum CodingKeys: String, CodingKey {
        case maskLogits = "mask_logits"
        case nspLogits = "nsp_logits"
        case predictions, scores
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(numberRows: masks.map(\.logits), forKey: .maskLogits)
        if let nextSentence { try container.encode(numbers: nextSentence, forKey: .nspLogits) }
        try container.encode(masks.map { $0.candidates.map(\.token) }, forKey: .predictions)
        try container.encode(numberRows: masks.map { $0.candidates.map(\.probability) }, forKey: .scores)
    }
}
