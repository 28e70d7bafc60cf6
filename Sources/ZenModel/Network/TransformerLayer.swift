import ZenTensor

/// One encoder layer, character or n-gram: `A = LN(X + Dense_o(Attn(X)))`,
/// `X' = LN(A + Dense_2(GELU(Dense_1(A))))`.
package struct TransformerLayer: Sendable, ParameterWalkable {
    package var attention: RelativeAttention
    package var attentionOutput: Linear
    package var attentionNorm: LayerNorm
    package var intermediate: Linear
    package var output: Linear
    package var outputNorm: LayerNorm

    init(_ prefix: String, config: ZenConfig) {
        let (hidden, inner, eps) = (config.hiddenSize, config.intermediateSize, config.layerNormEps)
        attention = RelativeAttention(prefix + ".attention.self", config: config)
        attentionOutput = Linear(prefix + ".attention.output.dense", inputs: hidden, outputs: hidden)
        attentionNorm = LayerNorm(prefix + ".attention.output.LayerNorm", width: hidden, eps: eps)
        intermediate = Linear(prefix + ".intermediate.dense", inputs: hidden, outputs: inner)
        output = Linear(prefix + ".output.dense", inputs: inner, outputs: hidden)
        outputNorm = LayerNorm(prefix + ".output.LayerNorm", width: hidden, eps: eps)
    }

    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try attention.walkParameters(&visitor)
        try attentionOutput.walkParameters(&visitor)
        try attentionNorm.walkParameters(&visitor)
        try intermediate.walkParameters(&visitor)
        try output.walkParameters(&visitor)
        try outputNorm.walkParameters(&visitor)
    }

    /// The layer over `x`, the sequences of a batch stacked row-wise as `segments` says. With
    /// `queryRows`, only the first `queryRows.lengths[s]` rows of each sequence are computed (all
    /// rows still serve as keys and values): what a last layer needs when only those rows are
    /// read.
    ///
    /// With `training`, dropout applies at its sites and the activations the backward pass reads
    /// are recorded; without, the residuals are added inside the output GEMMs and nothing is kept.
    package func callAsFunction(_ x: Tensor, segments: Segments, positions: RelativePositions, queryRows: Segments? = nil,
                                training dropout: LayerDropout? = nil) -> (output: Tensor, activations: LayerActivations?) {
        let queryInput = queryRows.map { x.rows(segments.leadingRows($0)) } ?? x
        let (q, k, v) = (attention.query(queryInput), attention.key(x), attention.value(x))
        let context = relativeAttention(query: q, key: k, value: v, contentBias: attention.contentBias, positionBias: attention.positionBias,
                                        segments: segments, queryRows: queryRows, positions: positions,
                                        dropout: dropout?.attentionProbabilities)
        let attentionSum = attentionOutput(context, residual: queryInput, dropout: dropout?.attentionOutput)
        // Recorded tensors are kept before the in-place steps that follow them, which then copy;
        // at inference nothing else holds them and they are overwritten in place.
        let record = dropout != nil
        let savedAttentionSum = record ? attentionSum : nil
        let attended = attentionNorm(consume attentionSum)
        let preActivation = intermediate(attended)
        let savedPreActivation = record ? preActivation : nil
        let activation = gelu(consume preActivation)
        let outputSum = output(activation, residual: attended, dropout: dropout?.output)
        guard let savedAttentionSum, let savedPreActivation else { return (outputNorm(consume outputSum), nil) }
        let activations = LayerActivations(input: x, queryInput: queryInput, queryRows: queryRows, query: q, key: k, value: v,
                                           context: context, attentionSum: savedAttentionSum, attended: attended,
                                           preActivation: savedPreActivation, activation: activation, outputSum: outputSum)
        return (outputNorm(outputSum), activations)
    }
}

/// What a layer's backward pass reads from its forward pass: the input of every operation with
/// parameters, and the inputs of both LayerNorms.
package struct LayerActivations: Sendable {
    /// The layer's input (keys and values), and the rows of it that are queries.
    package let input, queryInput: Tensor
    package let queryRows: Segments?
    package let query, key, value, context, attentionSum, attended, preActivation, activation, outputSum: Tensor
}
