import ZenTensor

/// The task heads a checkpoint may carry (spec section 5); each is present only if its weights are.
package struct Heads: Sendable, ParameterWalkable {
    /// `classifier`: sequence classification over the pooled output, or token classification
    /// over every position (`ZenModel.classifierTask` tells which).
    package var classifier: Linear?
    package var maskedLM: MaskedLMHead?
    /// `cls.seq_relationship`: next-sentence prediction over the pooled output.
    package var nextSentence: Linear?
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

    /// A trained model's heads.
    package init(classifier: Linear? = nil, maskedLM: MaskedLMHead? = nil, nextSentence: Linear? = nil) {
        (self.classifier, self.maskedLM, self.nextSentence) = (classifier, maskedLM, nextSentence)
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
package struct MaskedLMHead: Sendable, ParameterWalkable {
    package var transform: Linear
    package var norm: LayerNorm
    package var decoder: Linear
    /// The decoder's weight is the character embedding table, not a parameter of its own.
    package let tied: Bool

    package init(config: ZenConfig, tied: Bool) {
        let hidden = config.hiddenSize
        transform = Linear("cls.predictions.transform.dense", inputs: hidden, outputs: hidden)
        norm = LayerNorm("cls.predictions.transform.LayerNorm", width: hidden, eps: config.layerNormEps)
        decoder = Linear("cls.predictions.decoder", inputs: hidden, outputs: config.vocabSize)
        self.tied = tied
    }

    /// `head` with its decoder tied to the embeddings instead of its own copy of them.
    package init(tying head: MaskedLMHead) {
        (transform, norm, decoder, tied) = (head.transform, head.norm, head.decoder, true)
    }

    /// The decoder's bias is stored as `cls.predictions.bias`, as in BERT.
    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try transform.walkParameters(&visitor)
        try norm.walkParameters(&visitor)
        if !tied {
            try visitor.visit("cls.predictions.decoder.weight", shape: [decoder.outputs, decoder.inputs], kind: .weight, &decoder.weight)
            if let precision = visitor.packing { decoder.use(weight: decoder.weight, precision: precision) }
        }
        try visitor.visit("cls.predictions.bias", shape: [decoder.outputs], kind: .bias, &decoder.bias)
    }

    /// Vocabulary logits `[rows, V]` for the given rows of the sequence output; with `training`,
    /// also what the backward pass reads.
    package func callAsFunction(_ states: Tensor, training: Bool = false) -> (logits: Tensor, activations: MaskedLMActivations?) {
        let preActivation = transform(states)
        guard training else { return (decoder(norm(gelu(consume preActivation))), nil) }
        let activation = gelu(preActivation)
        let normalized = norm(activation)
        return (decoder(normalized), MaskedLMActivations(input: states, preActivation: preActivation, activation: activation, normalized: normalized))
    }
}

/// What the masked-language-model head's backward pass reads from its forward pass.
package struct MaskedLMActivations: Sendable {
    package let input, preActivation, activation, normalized: Tensor
}
