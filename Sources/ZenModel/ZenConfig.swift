import Foundation
import ZenText

/// `config.json` of a ZEN 2.0 checkpoint (spec section 1). Unknown keys are ignored.
public struct ZenConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numHiddenWordLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: String
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    public var layerNormEps: Float
    public var typeVocabSize: Int
    public var vocabSize: Int
    public var wordSize: Int
    public var initializerRange: Double
    public var numLabels: Int?
    /// Label names by class index, when the checkpoint has them.
    public var id2label: [Int: String]?
    /// N-gram slots per input (`max_ngrams`, our key): 128, the reference's `max_ngram_in_seq`,
    /// unless a new model was made with fewer.
    public var maxNgrams: Int
    /// The fusion weighting a fine-tuned head was trained with (`ngram_weighting`, our key).
    public var ngramWeighting: NgramWeighting?
    /// The `max_seq_length` a fine-tuned model was trained at (our key): every command defaults
    /// to it, and the n-gram cap of its features stays the one of this length (spec section 4).
    public var maxSeqLength: Int?
    /// Whether the n-gram encoder runs as in the reference's pre-training (`ngram_attention_mask`,
    /// our key): attention masked to the real n-gram hits, whose token types are the segment of
    /// their first token. Absent (false): as the reference fine-tunes and infers, all slots
    /// attending to each other with type 0 (spec sections 5 and 7), which released and
    /// reference-fine-tuned checkpoints need for their exact outputs. `zen pretrain` sets it.
    public var ngramAttentionMask = false

    public var headSize: Int { hiddenSize / numAttentionHeads }

    public init(contentsOf path: String) throws(CheckpointError) {
        let data: Data
        do {
            data = try TextFile.contents(of: path, kind: .regularFile)
        } catch {
            guard case .unreadableFile(_, let reason) = error else { throw .unreadable(path: path, reason: error.description) }
            throw .unreadable(path: path, reason: reason)
        }
        let value: JSONValue
        do { value = try JSONInput.parse(data) } catch { throw .invalidConfig(path: path, reason: "not valid JSON: \(error)") }
        guard case .object = value, let object = value.foundationObject as? [String: Any] else {
            throw .invalidConfig(path: path, reason: "not a JSON object")
        }
        try self.init(json: object, path: path)
    }

    init(json: [String: Any], path: String) throws(CheckpointError) {
        func invalid(_ reason: String) -> CheckpointError { .invalidConfig(path: path, reason: reason) }
        func integer(_ key: String, default value: Int? = nil) throws(CheckpointError) -> Int {
            guard let raw = json[key] else {
                guard let value else { throw invalid("\(key) is missing") }
                return value
            }
            // Exactly: a number beyond 64 bits must not wrap around into a plausible size.
            guard let number = raw as? NSNumber, let value = Int(exactly: number.doubleValue) else {
                throw invalid("\(key) must be an integer")
            }
            return value
        }
        func number(_ key: String, default value: Double) throws(CheckpointError) -> Double {
            guard let raw = json[key] else { return value }
            guard let number = raw as? NSNumber else { throw invalid("\(key) must be a number") }
            return number.doubleValue
        }
        hiddenSize = try integer("hidden_size")
        numHiddenLayers = try integer("num_hidden_layers")
        numHiddenWordLayers = try integer("num_hidden_word_layers")
        numAttentionHeads = try integer("num_attention_heads")
        intermediateSize = try integer("intermediate_size")
        hiddenAct = json["hidden_act"] as? String ?? "gelu"
        hiddenDropoutProb = try number("hidden_dropout_prob", default: 0.1)
        attentionProbsDropoutProb = try number("attention_probs_dropout_prob", default: 0.1)
        layerNormEps = Float(try number("layer_norm_eps", default: 1e-12))
        typeVocabSize = try integer("type_vocab_size", default: 2)
        vocabSize = try integer("vocab_size")
        wordSize = try integer("word_size")
        initializerRange = try number("initializer_range", default: 0.02)
        numLabels = json["num_labels"] == nil ? nil : try integer("num_labels")
        maxNgrams = try integer("max_ngrams", default: NgramDictionary.slotCount)
        guard (1...NgramDictionary.slotCount).contains(maxNgrams) else { throw invalid("max_ngrams must be between 1 and 128, not \(maxNgrams)") }
        if let labels = json["id2label"] {
            guard let labels = labels as? [String: Any] else { throw invalid("id2label must be an object") }
            var names: [Int: String] = [:]
            for (key, value) in labels {
                guard let index = Int(key), let name = value as? String else { throw invalid("id2label entry \(key) is malformed") }
                names[index] = name
            }
            id2label = names
        }

        if let name = json["ngram_weighting"] {
            guard let name = name as? String, let weighting = NgramWeighting(rawValue: name) else {
                throw invalid("ngram_weighting must be one of \(NgramWeighting.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            ngramWeighting = weighting
        }

        if json["max_seq_length"] != nil {
            let length = try integer("max_seq_length")
            guard FeatureBuilder.maxSeqLengthRange.contains(length) else {
                throw invalid("max_seq_length \(length) is outside \(FeatureBuilder.maxSeqLengthRange)")
            }
            maxSeqLength = length
        }

        if let flag = json["ngram_attention_mask"] {
            guard let flag = flag as? Bool else { throw invalid("ngram_attention_mask must be true or false") }
            ngramAttentionMask = flag
        }

        for (key, value) in [("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
                             ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
                             ("type_vocab_size", typeVocabSize), ("vocab_size", vocabSize), ("word_size", wordSize)] where value <= 0 {
            throw invalid("\(key) must be positive, not \(value)")
        }
        guard numHiddenWordLayers >= 0 else { throw invalid("num_hidden_word_layers must not be negative") }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw invalid("num_attention_heads \(numAttentionHeads) does not divide hidden_size \(hiddenSize)")
        }
        guard headSize % 2 == 0, headSize >= 4 else {
            throw invalid("num_attention_heads \(numAttentionHeads) splits hidden_size \(hiddenSize) into heads of size \(headSize); "
                + "the head size must be even and at least 4 for the relative sinusoid")
        }
        for (key, value) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb)]
        where !(0..<1).contains(value) {
            throw invalid("\(key) must be at least 0 and below 1, not \(value)")
        }
        guard layerNormEps > 0, layerNormEps.isFinite else { throw invalid("layer_norm_eps must be a positive number, not \(layerNormEps)") }
        guard initializerRange >= 0, initializerRange.isFinite else {
            throw invalid("initializer_range must not be negative, not \(initializerRange)")
        }
        guard hiddenAct == "gelu" else { throw invalid("hidden_act \(hiddenAct) is not supported (only gelu)") }
        if let numLabels, numLabels <= 0 { throw invalid("num_labels must be positive") }
        if let id2label, let numLabels, id2label.keys.contains(where: { $0 < 0 || $0 >= numLabels }) {
            throw invalid("id2label has an index outside 0..<num_labels")
        }
    }
}

extension ZenConfig {
    /// A config for a new model; dropout, `layer_norm_eps` and `initializer_range` as BERT's.
    public init(hiddenSize: Int, numHiddenLayers: Int, numHiddenWordLayers: Int, numAttentionHeads: Int, intermediateSize: Int,
                vocabSize: Int, wordSize: Int, maxNgrams: Int = NgramDictionary.slotCount) throws(CheckpointError) {
        try self.init(json: ["hidden_size": hiddenSize, "num_hidden_layers": numHiddenLayers, "num_hidden_word_layers": numHiddenWordLayers,
                             "num_attention_heads": numAttentionHeads, "intermediate_size": intermediateSize, "vocab_size": vocabSize,
                             "word_size": wordSize, "max_ngrams": maxNgrams], path: "the new model's config")
    }

    /// The config as `config.json` holds it (the reference's keys, and ours), written over
    /// `original`, whose other keys (`architectures`, `model_type`, …) are kept.
    public func jsonObject(over original: [String: Any] = [:]) -> [String: Any] {
        var object = original
        let known: [String: Any] = [
            "hidden_size": hiddenSize, "num_hidden_layers": numHiddenLayers, "num_hidden_word_layers": numHiddenWordLayers,
            "num_attention_heads": numAttentionHeads, "intermediate_size": intermediateSize, "hidden_act": hiddenAct,
            "hidden_dropout_prob": hiddenDropoutProb, "attention_probs_dropout_prob": attentionProbsDropoutProb,
            "layer_norm_eps": Double("\(layerNormEps)") ?? Double(layerNormEps), "type_vocab_size": typeVocabSize, "vocab_size": vocabSize, "word_size": wordSize,
            "initializer_range": initializerRange, "max_position_embeddings": original["max_position_embeddings"] ?? 512,
        ]
        object.merge(known) { _, new in new }
        if let numLabels { object["num_labels"] = numLabels }
        if let id2label {
            let names = id2label.sorted { $0.key < $1.key }
            object["id2label"] = Dictionary(uniqueKeysWithValues: names.map { (String($0.key), $0.value) })
            object["label2id"] = Dictionary(names.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        }
        if let ngramWeighting { object["ngram_weighting"] = ngramWeighting.rawValue }
        if let maxSeqLength { object["max_seq_length"] = maxSeqLength }
        if maxNgrams != NgramDictionary.slotCount { object["max_ngrams"] = maxNgrams }
        if ngramAttentionMask { object["ngram_attention_mask"] = true } else { object["ngram_attention_mask"] = nil }
        return object
    }
}
