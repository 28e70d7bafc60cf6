import ZenTensor

/// The task heads a checkpoint may carry (spec section 5); each is present only if its weights are.
struct Heads: Sendable {
    /// `classifier`: sequence classification over the pooled output, or token classification
    /// over every position; the checkpoint does not say which, the caller's task does.
    let classifier: Linear?
    let maskedLM: MaskedLMHead?
    /// `cls.seq_relationship`: next-sentence prediction over the pooled output.
    let nextSentence: Linear?
    /// `qa_outputs`: start and end logits of span extraction.
    let span: Linear?

    init(_ store: WeightStore, config: ZenConfig, wordEmbeddings: Tensor) throws(CheckpointError) {
        let hidden = config.hiddenSize
        if let data = store.data("classifier.weight") {
            let labels = config.numLabels ?? data.shape.first ?? 0
            classifier = try Linear(store, "classifier", inputs: hidden, outputs: labels)
        } else {
            classifier = nil
        }
        maskedLM = store.contains("cls.predictions.bias")
            ? try MaskedLMHead(store, config: config, wordEmbeddings: wordEmbeddings) : nil
        nextSentence = store.contains("cls.seq_relationship.weight")
            ? try Linear(store, "cls.seq_relationship", inputs: hidden, outputs: 2) : nil
        span = store.contains("qa_outputs.weight") ? try Linear(store, "qa_outputs", inputs: hidden, outputs: 2) : nil
    }

    /// A fine-tuned model's only head.
    init(classifier: Linear) {
        self.classifier = classifier
        (maskedLM, nextSentence, span) = (nil, nil, nil)
    }
}

/// `decoder(LN(GELU(dense(X)))) + bias`, the decoder tied to the character embeddings unless the
/// checkpoint stores its own copy.
struct MaskedLMHead: Sendable {
    let transform: Linear
    let norm: LayerNorm
    let decoder: Linear

    init(_ store: WeightStore, config: ZenConfig, wordEmbeddings: Tensor) throws(CheckpointError) {
        let (hidden, vocabulary) = (config.hiddenSize, config.vocabSize)
        transform = try Linear(store, "cls.predictions.transform.dense", inputs: hidden, outputs: hidden)
        norm = try LayerNorm(store, "cls.predictions.transform.LayerNorm", width: hidden, eps: config.layerNormEps)
        let weight = store.contains("cls.predictions.decoder.weight")
            ? try store.tensor("cls.predictions.decoder.weight", shape: [vocabulary, hidden]) : wordEmbeddings
        decoder = Linear(name: "cls.predictions.decoder", weight: weight, bias: try store.tensor("cls.predictions.bias", shape: [vocabulary]), precision: store.precision)
    }

    /// Vocabulary logits `[rows, V]` for the given rows of the sequence output.
    func callAsFunction(_ states: Tensor) -> Tensor { decoder(norm(gelu(transform(states)))) }
}
