import ZenTensor

/// One encoder layer, character or n-gram: `A = LN(X + Dense_o(Attn(X)))`,
/// `X' = LN(A + Dense_2(GELU(Dense_1(A))))`. Dropout is the identity at inference.
struct TransformerLayer: Sendable {
    var attention: RelativeAttention
    var attentionOutput: Linear
    var attentionNorm: LayerNorm
    var intermediate: Linear
    var output: Linear
    var outputNorm: LayerNorm

    init(_ store: WeightStore, _ prefix: String, config: ZenConfig) throws(CheckpointError) {
        let (hidden, inner, eps) = (config.hiddenSize, config.intermediateSize, config.layerNormEps)
        attention = try RelativeAttention(store, prefix + ".attention.self", config: config)
        attentionOutput = try Linear(store, prefix + ".attention.output.dense", inputs: hidden, outputs: hidden)
        attentionNorm = try LayerNorm(store, prefix + ".attention.output.LayerNorm", width: hidden, eps: eps)
        intermediate = try Linear(store, prefix + ".intermediate.dense", inputs: hidden, outputs: inner)
        output = try Linear(store, prefix + ".output.dense", inputs: inner, outputs: hidden)
        outputNorm = try LayerNorm(store, prefix + ".output.LayerNorm", width: hidden, eps: eps)
    }

    /// `x` holds the sequences of a batch stacked row-wise, as `segments` says. With `outputs`,
    /// only the first `outputs.lengths[s]` rows of each sequence are computed (all rows still
    /// serve as keys and values): what a last layer needs when only those rows are read.
    func callAsFunction(_ x: Tensor, segments: Segments, positions: RelativePositions, outputs: Segments? = nil) -> Tensor {
        let queries = outputs.map { outputs in
            (x: x.rows(segments.starts.indices.map { segments.starts[$0]..<(segments.starts[$0] + outputs.lengths[$0]) }), segments: outputs)
        }
        let attended = attention(x, segments: segments, positions: positions, queries: queries)
        let a = attentionNorm(consuming: attentionOutput(attended, residual: queries?.x ?? x))
        return outputNorm(consuming: output(gelu(intermediate(a)), residual: a))
    }
}
