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
        var record = dropout.map { _ in LayerActivations(input: x, queryInput: queryInput, queryRows: queryRows) }
        // Each intermediate lives in a scope of its own, so that at inference (nothing recorded)
        // it is freed, or overwritten in place, as soon as the next step has read it.
        let attended: Tensor
        do {
            let context: Tensor
            do {
                let (q, k, v) = (attention.query(queryInput), attention.key(x), attention.value(x))
                context = relativeAttention(query: q, key: k, value: v, contentBias: attention.contentBias, positionBias: attention.positionBias,
                                            segments: segments, queryRows: queryRows, positions: positions,
                                            dropout: dropout?.attentionProbabilities)
                record?.attention = (q, k, v, context)
            }
            let attentionSum = attentionOutput(context, residual: queryInput, dropout: dropout?.attentionOutput)
            record?.attentionSum = attentionSum
            attended = attentionNorm(consume attentionSum)
        }
        let outputSum: Tensor
        do {
            let preActivation = intermediate(attended)
            record?.preActivation = preActivation
            let activation = gelu(consume preActivation)
            record?.activation = activation
            outputSum = output(consume activation, residual: attended, dropout: dropout?.output)
        }
        record?.attended = attended
        record?.outputSum = outputSum
        return (outputNorm(consume outputSum), record)
    }
}

/// What a layer's backward pass reads from its forward pass: the input of every operation with
/// parameters, and the inputs of both LayerNorms. The forward pass fills it in as it goes.
package struct LayerActivations: Sendable {
    /// The layer's input (keys and values), and the rows of it that are queries.
    package let input, queryInput: Tensor
    package let queryRows: Segments?
    package var attention = (query: Tensor.unset, key: Tensor.unset, value: Tensor.unset, context: Tensor.unset)
    package var attentionSum = Tensor.unset, attended = Tensor.unset
    package var preActivation = Tensor.unset, activation = Tensor.unset, outputSum = Tensor.unset

    init(input: Tensor, queryInput: Tensor, queryRows: Segments?) {
        (self.input, self.queryInput, self.queryRows) = (input, queryInput, queryRows)
    }
}
