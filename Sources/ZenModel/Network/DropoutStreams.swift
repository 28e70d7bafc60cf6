import ZenTensor

/// The dropout of one training pass, by where it applies: after the embeddings and after every
/// dense layer (`hidden_dropout_prob`), on the attention probabilities
/// (`attention_probs_dropout_prob`), and before the classifier. Each site draws a stream of its
/// own, derived from one seed, so that the forward pass and the backward pass (which applies the
/// same mask to the gradient) meet at the same site by name.
package struct DropoutStreams: Sendable {
    let hidden: Dropout
    let attention: Dropout

    /// Probability 0 gives a training pass without dropout (what gradient checks compare).
    package init(seed: UInt64, hidden: Double, attention: Double) {
        self.hidden = Dropout(probability: Float(hidden), seed: seed)
        self.attention = Dropout(probability: Float(attention), seed: seed ^ 0xA77E)
    }

    package var embeddings: Dropout { hidden.substream(1) }
    package var ngramEmbeddings: Dropout { hidden.substream(2) }
    package var classifierInput: Dropout { hidden.substream(300) }
    package func characterLayer(_ index: Int) -> LayerDropout { layer(100 + UInt64(index)) }
    package func ngramLayer(_ index: Int) -> LayerDropout { layer(200 + UInt64(index)) }

    private func layer(_ stream: UInt64) -> LayerDropout {
        LayerDropout(hidden: hidden.substream(stream), attention: attention.substream(stream))
    }
}

/// The dropout sites of one transformer layer.
package struct LayerDropout: Sendable {
    let hidden: Dropout
    let attention: Dropout

    package var attentionProbabilities: Dropout { attention.substream(0) }
    package var attentionOutput: Dropout { hidden.substream(1) }
    package var output: Dropout { hidden.substream(2) }
}
