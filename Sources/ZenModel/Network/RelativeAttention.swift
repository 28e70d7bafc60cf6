import ZenTensor

/// Transformer-XL style self-attention with relative sinusoidal positions, as in every ZEN 2.0
/// layer (spec section 5). For query i, key j and each head:
///
///     score(i, j) = ((q_i + r_r_bias) · k_j + (q_i + r_w_bias) · R(j − i)) / √d
///
/// The projections are single GEMMs over the whole stacked batch; the scores are
/// `relativeAttention` of the tensor core.
package struct RelativeAttention: Sendable, ParameterWalkable {
    package let name: String
    let heads, headSize: Int
    package var query, key, value: Linear
    /// `[heads, d]`; goes with the content term (the reference's naming, kept).
    package var contentBias = Tensor.unset
    /// `[heads, d]`; goes with the position term.
    package var positionBias = Tensor.unset

    init(_ name: String, config: ZenConfig) {
        self.name = name
        (heads, headSize) = (config.numAttentionHeads, config.headSize)
        let hidden = config.hiddenSize
        query = Linear(name + ".query", inputs: hidden, outputs: hidden)
        key = Linear(name + ".key", inputs: hidden, outputs: hidden)
        value = Linear(name + ".value", inputs: hidden, outputs: hidden)
    }

    /// The biases first: a new model draws them before the projections (as it always has).
    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try visitor.visit(name + ".r_r_bias", shape: [heads, headSize], kind: .weight, &contentBias)
        try visitor.visit(name + ".r_w_bias", shape: [heads, headSize], kind: .weight, &positionBias)
        try query.walkParameters(&visitor)
        try key.walkParameters(&visitor)
        try value.walkParameters(&visitor)
    }
}
