import Foundation
import ZenTensor
import ZenText

extension ZenConfig {
    /// A config for a new model; dropout, `layer_norm_eps` and `initializer_range` as BERT's.
    public init(hiddenSize: Int, numHiddenLayers: Int, numHiddenWordLayers: Int, numAttentionHeads: Int, intermediateSize: Int,
                vocabSize: Int, wordSize: Int, maxNgrams: Int = NgramDictionary.slotCount) throws(CheckpointError) {
        try self.init(json: ["hidden_size": hiddenSize, "num_hidden_layers": numHiddenLayers, "num_hidden_word_layers": numHiddenWordLayers,
                             "num_attention_heads": numAttentionHeads, "intermediate_size": intermediateSize, "vocab_size": vocabSize,
                             "word_size": wordSize, "max_ngrams": maxNgrams], path: "the new model's config")
    }

    /// The config as `config.json` holds it (the reference's keys).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "hidden_size": hiddenSize, "num_hidden_layers": numHiddenLayers, "num_hidden_word_layers": numHiddenWordLayers,
            "num_attention_heads": numAttentionHeads, "intermediate_size": intermediateSize, "hidden_act": hiddenAct,
            "hidden_dropout_prob": hiddenDropoutProb, "attention_probs_dropout_prob": attentionProbsDropoutProb,
            "layer_norm_eps": Double(layerNormEps), "type_vocab_size": typeVocabSize, "vocab_size": vocabSize, "word_size": wordSize,
            "initializer_range": initializerRange, "max_position_embeddings": 512,
        ]
        if let numLabels { object["num_labels"] = numLabels }
        if let id2label { object["id2label"] = Dictionary(uniqueKeysWithValues: id2label.map { (String($0.key), $0.value) }) }
        if let ngramWeighting { object["ngram_weighting"] = ngramWeighting.rawValue }
        if let maxSeqLength { object["max_seq_length"] = maxSeqLength }
        if maxNgrams != NgramDictionary.slotCount { object["max_ngrams"] = maxNgrams }
        return object
    }

    /// Freshly initialized parameters of the encoder and pooler, under the reference's names,
    /// as BERT initializes them: weights and embeddings normal with `initializer_range`, the
    /// padding rows (id 0) of both embedding tables zero, biases zero, LayerNorm weights one,
    /// and the relative-attention biases normal too.
    public func initialParameters(seed: UInt64) -> [(name: String, tensor: Tensor)] {
        var generator = SplitMix64(seed: seed)
        let deviation = Float(initializerRange)
        let (hidden, inner) = (hiddenSize, intermediateSize)
        var parameters: [(name: String, tensor: Tensor)] = []
        func normal(_ name: String, _ shape: [Int]) {
            parameters.append((name, Tensor.normal(shape, standardDeviation: deviation, using: &generator)))
        }
        func linear(_ name: String, _ outputs: Int, _ inputs: Int) {
            normal(name + ".weight", [outputs, inputs])
            parameters.append((name + ".bias", Tensor(zeros: [outputs])))
        }
        func layerNorm(_ name: String) {
            parameters.append((name + ".weight", Tensor(shape: [hidden], scalars: [Float](repeating: 1, count: hidden))))
            parameters.append((name + ".bias", Tensor(zeros: [hidden])))
        }
        func embeddings(_ prefix: String, entries: Int) {
            var table = Tensor.normal([entries, hidden], standardDeviation: deviation, using: &generator)
            table.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: hidden) }
            parameters.append((prefix + ".word_embeddings.weight", table))
            normal(prefix + ".token_type_embeddings.weight", [typeVocabSize, hidden])
            layerNorm(prefix + ".LayerNorm")
        }
        func layer(_ prefix: String) {
            normal(prefix + ".attention.self.r_r_bias", [numAttentionHeads, headSize])
            normal(prefix + ".attention.self.r_w_bias", [numAttentionHeads, headSize])
            for projection in ["query", "key", "value"] { linear(prefix + ".attention.self." + projection, hidden, hidden) }
            linear(prefix + ".attention.output.dense", hidden, hidden)
            layerNorm(prefix + ".attention.output.LayerNorm")
            linear(prefix + ".intermediate.dense", inner, hidden)
            linear(prefix + ".output.dense", hidden, inner)
            layerNorm(prefix + ".output.LayerNorm")
        }
        embeddings("bert.embeddings", entries: vocabSize)
        embeddings("bert.word_embeddings", entries: wordSize)
        for i in 0..<numHiddenLayers { layer("bert.encoder.layer.\(i)") }
        for i in 0..<numHiddenWordLayers { layer("bert.encoder.word_layers.\(i)") }
        linear("bert.pooler.dense", hidden, hidden)
        return parameters
    }
}
