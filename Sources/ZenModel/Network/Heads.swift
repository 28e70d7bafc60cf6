import ZenTensor

/// The task heads a checkpoint may carry (spec section 5); each is present only if its weights are.
package struct Heads: Sendable, ParameterWalkable {
    /// `classifier`: sequence classification over the pooled output, or token classification
    /// over every position (`ZenModel.classifierTask` tells which).
    package var classifier: Linear?
    var maskedLM: MaskedLMHead?
    /// `cls.seq_relationship`: next-sentence prediction over the pooled output.
    var nextSentence: Linear?
    /// `qa_outputs`: start and end logits of span extraction.
    var span: Linear?

    /// The heads whose tensors `store` holds.
    init(_ store: WeightStore, config: ZenConfig) {
        let hidden = config.hiddenSize
        if let shape = store.data("classifier.weight")?.shape {
            classifier = Linear("classifier", inputs: hidden, outputs: config.numLabels ?? shape.first ?? 0)
        }
        if store.contains("cls.predictions.bias") {
            maskedLM = MaskedLMHead(config: config, tied: !store.contains("cls.predictions.decoder.weight"))
        }
        if store.contains("cls.seq_relationship.weight") { nextSentence = Linear("cls.seq_relationship", inputs: hidden, outputs: 2) }
        if store.contains("qa_outputs.weight") { span = Linear("qa_outputs", inputs: hidden, outputs: 2) }
    }

    /// A fine-tuned model's only head.
    package init(classifier: Linear) {
        self.classifier = classifier
    }

    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try classifier?.walkParameters(&visitor)
        try maskedLM?.walkParameters(&visitor)
        try nextSentence?.walkParameters(&visitor)
        try span?.walkParameters(&visitor)
    }
}

/// `decoder(LN(GELU(dense(X)))) + bias`, the decoder tied to the character embeddings unless the
/// checkpoint stores its own copy.
struct MaskedLMHead: Sendable, ParameterWalkable {
    var transform: Linear
    var norm: LayerNorm
    var decoder: Linear
    /// The decoder's weight is the character embedding table, not a parameter of its own.
    let tied: Bool

    init(config: ZenConfig, tied: Bool) {
        let hidden = config.hiddenSize
        transform = Linear("cls.predictions.transform.dense", inputs: hidden, outputs: hidden)
        norm = LayerNorm("cls.predictions.transform.LayerNorm", width: hidden, eps: config.layerNormEps)
        decoder = Linear("cls.predictions.decoder", inputs: hidden, outputs: config.vocabSize)
        self.tied = tied
    }

    /// The decoder's bias is stored as `cls.predictions.bias`, as in BERT.
    mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try transform.walkParameters(&visitor)
        try norm.walkParameters(&visitor)
        if !tied {
            try visitor.visit("cls.predictions.decoder.weight", shape: [decoder.outputs, decoder.inputs], kind: .weight, &decoder.weight)
            if let precision = visitor.packing { decoder.use(weight: decoder.weight, precision: precision) }
        }
        try visitor.visit("cls.predictions.bias", shape: [decoder.outputs], kind: .bias, &decoder.bias)
    }

    /// Vocabulary logits `[rows, V]` for the given rows of the sequence output.
    func callAsFunction(_ states: Tensor) -> Tensor { decoder(norm(gelu(transform(states)))) }
}
