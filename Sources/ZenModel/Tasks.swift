import Foundation
import ZenTensor
import ZenText

/// The result of classifying one text (or pair).
public struct Classification: Sendable {
    public var labelIndex: Int
    /// `id2label`'s name for the class, if the checkpoint has one.
    public var label: String?
    public var logits: [Float]
    /// Softmax of the logits.
    public var probabilities: [Float]
}

/// Predictions at one `[MASK]`.
public struct MaskPrediction: Sendable {
    /// The token index of the `[MASK]`, `[CLS]` being 0.
    public var position: Int
    public var logits: [Float]
    /// The best tokens, most likely first, with their softmax probabilities.
    public var candidates: [(token: String, probability: Float)]
}

extension ZenModel {
    /// Classifies texts, or text pairs when `pairs` is given (one per text), `batchSize` at a time.
    public func classify(_ texts: [String], pairs: [String?]? = nil, maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency,
                         ngramCap: NgramCap = .trained, batchSize: Int = 16) throws -> [Classification] {
        _ = try requireClassifier(.classification)
        return try classifications(of: embed(texts, pairs: pairs, maxSeqLength: maxSeqLength, weighting: weighting,
                                             ngramCap: ngramCap, batchSize: batchSize))
    }

    /// The sequence classifier on encoder outputs (of `sequenceFeatures`): the second half of
    /// `classify`, for callers that batch the encoder themselves.
    public func classifications(of outputs: [EncoderOutput]) throws -> [Classification] {
        let classifier = try requireClassifier(.classification)
        guard !outputs.isEmpty else { return [] }
        let pooled = try outputs.flatMap { output throws(ModelError) in try output.pooled(by: .pooler) }
        let logits = classifier(Tensor(shape: [outputs.count, config.hiddenSize], scalars: pooled))
        return outputs.indices.map { index in
            let row = logits.row(index)
            let best = row.indices.max { row[$0] < row[$1] } ?? 0
            return Classification(labelIndex: best, label: labelName(best), logits: row, probabilities: softmax(row))
        }
    }

    /// Encoder outputs of texts (or pairs), pooled and per-token states, `batchSize` at a time.
    public func embed(_ texts: [String], pairs: [String?]? = nil, maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency,
                      ngramCap: NgramCap = .trained, batchSize: Int = 16) throws -> [EncoderOutput] {
        let builder = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: ngramCap)
        let features = try texts.indices.map { try builder.sequenceFeatures(text: texts[$0], pair: pairs?[$0] ?? nil) }
        return try stride(from: 0, to: features.count, by: max(1, batchSize)).flatMap { start in
            try encode(Array(features[start..<min(features.count, start + batchSize)]))
        }
    }

    /// Vocabulary logits at every `[MASK]` of `text` (and of `pair`) that fits `maxSeqLength`
    /// (none: no masks), and the next-sentence logits. By default every literal `[MASK]` is a
    /// mask, as people type it ("我今天很[MASK]，"); `masks: .reference` reads them as the
    /// reference tokenizer does, only as words of their own, which is what `zen predict --task
    /// mlm` reproduces.
    public func fillMask(_ text: String, pair: String? = nil, topK: Int = 5, maxSeqLength: Int = 128,
                         weighting: NgramWeighting = .frequency, ngramCap: NgramCap = .trained,
                         masks: MaskMarking = .literal) throws -> (masks: [MaskPrediction], nextSentence: [Float]?) {
        let features = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: ngramCap)
            .sequenceFeatures(text: text, pair: pair, masks: masks)
        return try maskPredictions(features: features, output: encode(features), topK: topK)
    }

    /// The masked-language-model and next-sentence heads on the encoder output of `features`:
    /// the second half of `fillMask`, for callers that batch the encoder themselves.
    public func maskPredictions(features: InputFeatures, output: EncoderOutput,
                                topK: Int = 5) throws -> (masks: [MaskPrediction], nextSentence: [Float]?) {
        let maskId = vocabulary.maskId
        let positions = features.inputIds.indices.filter { features.inputIds[$0] == maskId }
        let logits = try maskedLMLogits(at: positions, of: output)
        let masks = (0..<positions.count).map { index -> MaskPrediction in
            let row = logits.row(index)
            let probabilities = softmax(row)
            let best = row.indices.sorted { row[$0] > row[$1] }.prefix(topK)
            return MaskPrediction(position: positions[index], logits: row, candidates: best.map { (vocabulary.token(of: Int32($0)), probabilities[$0]) })
        }
        return (masks, try nextSentenceLogits(of: output))
    }

    /// The next-sentence head's two logits (B follows A, B is random) on an encoder output; nil
    /// without the head.
    public func nextSentenceLogits(of output: EncoderOutput) throws(ModelError) -> [Float]? {
        try heads.nextSentence.map { head throws(ModelError) in
            head(Tensor(shape: [1, config.hiddenSize], scalars: try output.pooled(by: .pooler))).scalars
        }
    }

    /// The masked-language-model head's vocabulary logits `[positions, V]` at `positions` of an
    /// encoder output.
    public func maskedLMLogits(at positions: [Int], of output: EncoderOutput) throws(ModelError) -> Tensor {
        guard let head = heads.maskedLM else {
            throw ModelError.missingHead(task: ModelTask.fillMask.description, tensor: "cls.predictions.bias")
        }
        guard !positions.isEmpty else { return Tensor(zeros: [0, config.vocabSize]) }
        return head(output.sequence.rows(positions.map { $0..<($0 + 1) })).logits
    }

    /// Which tasks the checkpoint's heads can serve (see `classifierTask`).
    public var servedTasks: [ModelTask] {
        var tasks: [ModelTask] = [.embed]
        if let task = classifierTask, task == .ner || encoder.pooler != nil { tasks.append(task) }
        if heads.maskedLM != nil { tasks.append(.fillMask) }
        return tasks
    }
}

/// How `embed` makes one vector of a text's encoder output.
public enum Pooling: String, Sendable, CaseIterable, Codable {
    /// The last layer's `[CLS]` state.
    case cls
    /// The mean of the last layer's states over every real token, `[CLS]` and `[SEP]` included.
    case mean
    /// The pooler's `tanh(W_p · X[0] + b_p)`, as the classifier sees it.
    case pooler
}

extension EncoderOutput {
    public func pooled(by pooling: Pooling) throws(ModelError) -> [Float] {
        switch pooling {
        case .cls: return sequence.row(0)
        case .pooler:
            guard let pooled else { throw .missingHead(task: "pooler", tensor: "pooler.dense.weight") }
            return pooled
        case .mean:
            let rows = sequence.shape[0]
            var sum = [Float](repeating: 0, count: sequence.shape[1])
            for row in 0..<rows { for (column, value) in sequence.row(row).enumerated() { sum[column] += value } }
            return sum.map { $0 / Float(rows) }
        }
    }
}

extension ZenModel {
    /// Start and end logits of span extraction (e.g. question `text`, passage `pair`) over every
    /// real token including `[CLS]` and `[SEP]`.
    public func spanLogits(_ text: String, pair: String? = nil, maxSeqLength: Int = 512, weighting: NgramWeighting = .frequency,
                           ngramCap: NgramCap = .trained) throws -> (tokens: [String], start: [Float], end: [Float]) {
        guard let head = heads.span else { throw ModelError.missingHead(task: "span extraction", tensor: "qa_outputs.weight") }
        let features = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: ngramCap)
            .sequenceFeatures(text: text, pair: pair)
        let logits = head(try encode(features).sequence)
        let rows = (0..<logits.shape[0]).map { logits.row($0) }
        return (features.inputIds.map(vocabulary.token(of:)), rows.map { $0[0] }, rows.map { $0[1] })
    }
}

func softmax(_ logits: [Float]) -> [Float] {
    var values = logits
    values.withUnsafeMutableBufferPointer { softmaxRowsInPlace($0.baseAddress!, rows: 1, columns: $0.count) }
    return values
}
