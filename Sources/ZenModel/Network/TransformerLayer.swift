import ZenTensor

/// One encoder layer, character or n-gram: `A = LN(X + Dense_o(Attn(X)))`,
/// `X' = LN(A + Dense_2(GELU(Dense_1(A))))`. Dropout is the identity at inference.
struct TransformerLayer: Sendable {
    let attention: RelativeAttention
    let attentionOutput: Linear
    let attentionNorm: LayerNorm
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm

    init(_ store: WeightStore, _ prefix: String, config: ZenConfig) throws(CheckpointError) {
        let (hidden, inner, eps) = (config.hiddenSize, config.intermediateSize, config.layerNormEps)
        attention = try RelativeAttention(store, prefix + ".attention.self", config: config)
        attentionOutput = try Linear(store, prefix + ".attention.output.dense", inputs: hidden, outputs: hidden)
        attentionNorm = try LayerNorm(store, prefix + ".attention.output.LayerNorm", width: hidden, eps: eps)
        intermediate = try Linear(store, prefix + ".intermediate.dense", inputs: hidden, outputs: inner)
        output = try Linear(store, prefix + ".output.dense", inputs: inner, outputs: hidden)
        outputNorm = try LayerNorm(store, prefix + ".output.LayerNorm", width: hidden, eps: eps)
    }

    /// `x` holds the sequences of a batch stacked row-wise, as `segments` says.
    func callAsFunction(_ x: Tensor, segments: Segments, positions: RelativePositions) -> Tensor {
        let a = attentionNorm(consuming: attentionOutput(attention(x, segments: segments, positions: positions), residual: x))
        return outputNorm(consuming: output(gelu(intermediate(a)), residual: a))
    }
}
