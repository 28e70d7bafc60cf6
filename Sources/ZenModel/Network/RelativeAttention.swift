import ZenTensor

/// Transformer-XL style self-attention with relative sinusoidal positions, as in every ZEN 2.0
/// layer (spec section 5). For query i, key j and each head:
///
///     score(i, j) = ((q_i + r_r_bias) · k_j + (q_i + r_w_bias) · R(j − i)) / √d
///
/// The projections are single GEMMs over the whole stacked batch; the scores are
/// `relativeAttention` of the tensor core.
struct RelativeAttention: Sendable {
    let name: String
    var query: Linear
    var key: Linear
    var value: Linear
    /// `[heads, d]`; goes with the content term (the reference's naming, kept).
    var contentBias: Tensor
    /// `[heads, d]`; goes with the position term.
    var positionBias: Tensor

    init(_ store: WeightStore, _ prefix: String, config: ZenConfig) throws(CheckpointError) {
        name = prefix
        let hidden = config.hiddenSize
        let (heads, headSize) = (config.numAttentionHeads, config.headSize)
        query = try Linear(store, prefix + ".query", inputs: hidden, outputs: hidden)
        key = try Linear(store, prefix + ".key", inputs: hidden, outputs: hidden)
        value = try Linear(store, prefix + ".value", inputs: hidden, outputs: hidden)
        contentBias = try store.tensor(prefix + ".r_r_bias", shape: [heads, headSize])
        positionBias = try store.tensor(prefix + ".r_w_bias", shape: [heads, headSize])
    }

    /// The context vectors of `x` `[Σ T, H]`, before the output projection: for every row, or
    /// with `queries` for the rows of `xQueries` only (the first positions of each sequence).
    func callAsFunction(_ x: Tensor, segments: Segments, positions: RelativePositions,
                        queries: (x: Tensor, segments: Segments)? = nil) -> Tensor {
        relativeAttention(query: query(queries?.x ?? x), key: key(x), value: value(x), contentBias: contentBias,
                          positionBias: positionBias, segments: segments, queries: queries?.segments, positions: positions)
    }
}
