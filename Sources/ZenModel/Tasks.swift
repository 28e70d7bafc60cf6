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

/// Token classification of one character sequence.
public struct TaggedSequence: Sendable {
    public var tokens: [String]
    /// One label per input character. Characters that make no token (spaces), and characters cut
    /// off by `maxSeqLength` (as the reference cuts them), are "O".
    public var labels: [String]
    /// How many leading characters fit in `maxSeqLength`; `labels` past them are not predictions.
    public var labeledCount: Int
    public var entities: [Entity]
    /// `[T, labels]` for every real token including `[CLS]` and `[SEP]`.
    public var logits: [[Float]]
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
    public func classify(_ texts: [String], pairs: [String?]? = nil, maxSeqLength: Int = 128,
                         weighting: NgramWeighting = .frequency, batchSize: Int = 16) throws -> [Classification] {
        _ = try requireClassifier(.classification)
        return try classifications(of: embed(texts, pairs: pairs, maxSeqLength: maxSeqLength, weighting: weighting, batchSize: batchSize))
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

    /// Tags each character of `chars` (a list of one-character strings, or of words).
    public func tag(chars: [String], maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency) throws -> TaggedSequence {
        try tag(sentences: [chars], maxSeqLength: maxSeqLength, weighting: weighting)[0]
    }

    /// Tags many character sequences, `batchSize` at a time.
    public func tag(sentences: [[String]], maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency,
                    batchSize: Int = 16) throws -> [TaggedSequence] {
        _ = try requireClassifier(.ner)
        let builder = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting)
        return try stride(from: 0, to: sentences.count, by: max(1, batchSize)).flatMap { start in
            let chunk = sentences[start..<min(sentences.count, start + max(1, batchSize))]
            let features = try chunk.map { try builder.tokenFeatures(words: $0) }
            return try zip(chunk, zip(features, encode(features))).map { try tagged($0, features: $1.0, output: $1.1) }
        }
    }

    /// The token classifier on the encoder output of `chars` (from `tokenFeatures(words: chars)`):
    /// the second half of `tag`, for callers that batch the encoder themselves.
    public func tagged(_ chars: [String], features: InputFeatures, output: EncoderOutput) throws -> TaggedSequence {
        let classifier = try requireClassifier(.ner)
        let labeledCount = features.wordStarts?.count ?? 0
        let firstTokens = (features.wordStarts ?? []) + [Int?](repeating: nil, count: chars.count - labeledCount)
        let logits = classifier(output.sequence)
        let rows = (0..<logits.shape[0]).map { logits.row($0) }
        let labels = firstTokens.map { token -> String in
            guard let token else { return "O" }
            let best = rows[token].indices.max { rows[token][$0] < rows[token][$1] } ?? 0
            return labelName(best) ?? String(best)
        }
        return TaggedSequence(tokens: features.inputIds.map(vocabulary.token(of:)), labels: labels, labeledCount: labeledCount,
                              entities: Entity.read(labels: labels, chars: chars, scheme: tagScheme), logits: rows)
    }

    /// The checkpoint's tag scheme, read from its label names.
    public var tagScheme: TagScheme { TagScheme.detect(config.id2label?.values.map { $0 } ?? []) }

    /// Tags each Unicode scalar of `text`.
    public func tag(text: String, maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency) throws -> TaggedSequence {
        try tag(chars: text.unicodeScalars.map { String($0) }, maxSeqLength: maxSeqLength, weighting: weighting)
    }

    /// Encoder outputs of texts (or pairs), pooled and per-token states, `batchSize` at a time.
    public func embed(_ texts: [String], pairs: [String?]? = nil, maxSeqLength: Int = 128,
                      weighting: NgramWeighting = .frequency, batchSize: Int = 16) throws -> [EncoderOutput] {
        let builder = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting)
        let features = try texts.indices.map { try builder.sequenceFeatures(text: texts[$0], pair: pairs?[$0] ?? nil) }
        return try stride(from: 0, to: features.count, by: max(1, batchSize)).flatMap { start in
            try encode(Array(features[start..<min(features.count, start + batchSize)]))
        }
    }

    /// Vocabulary logits at every `[MASK]` of `text` (and of `pair`), and the next-sentence logits.
    /// `[MASK]` counts only as a whole word, as in the reference: "很[MASK]，" has one, "[MASK][MASK]" none.
    public func fillMask(_ text: String, pair: String? = nil, topK: Int = 5, maxSeqLength: Int = 128,
                         weighting: NgramWeighting = .frequency) throws -> (masks: [MaskPrediction], nextSentence: [Float]?) {
        let features = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting).sequenceFeatures(text: text, pair: pair)
        return try maskPredictions(features: features, output: encode(features), topK: topK)
    }

    /// The masked-language-model and next-sentence heads on the encoder output of `features`:
    /// the second half of `fillMask`, for callers that batch the encoder themselves.
    public func maskPredictions(features: InputFeatures, output: EncoderOutput,
                                topK: Int = 5) throws -> (masks: [MaskPrediction], nextSentence: [Float]?) {
        guard let head = heads.maskedLM else {
            throw ModelError.missingHead(task: ModelTask.fillMask.description, tensor: "cls.predictions.bias")
        }
        let maskId = vocabulary.id(of: "[MASK]")
        let positions = features.inputIds.indices.filter { features.inputIds[$0] == maskId }
        let logits = positions.isEmpty ? Tensor(zeros: [0, config.vocabSize])
            : head(Tensor(shape: [positions.count, config.hiddenSize], scalars: positions.flatMap { output.sequence.row($0) }))
        let masks = (0..<positions.count).map { index -> MaskPrediction in
            let row = logits.row(index)
            let probabilities = softmax(row)
            let best = row.indices.sorted { row[$0] > row[$1] }.prefix(topK)
            return MaskPrediction(position: positions[index], logits: row, candidates: best.map { (vocabulary.token(of: Int32($0)), probabilities[$0]) })
        }
        let nextSentence = try heads.nextSentence.map { head throws(ModelError) in
            head(Tensor(shape: [1, config.hiddenSize], scalars: try output.pooled(by: .pooler))).scalars
        }
        return (masks, nextSentence)
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
    public func spanLogits(_ text: String, pair: String? = nil, maxSeqLength: Int = 512,
                           weighting: NgramWeighting = .frequency) throws -> (tokens: [String], start: [Float], end: [Float]) {
        guard let head = heads.span else { throw ModelError.missingHead(task: "span extraction", tensor: "qa_outputs.weight") }
        let features = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting).sequenceFeatures(text: text, pair: pair)
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
