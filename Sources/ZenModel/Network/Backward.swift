import ZenTensor

/// Gradients of the loss by canonical parameter name (`encoder.layer.0.output.dense.weight`),
/// added to as the backward pass goes, and across the micro-batches of one optimizer step.
public struct ParameterGradients: Sendable {
    public private(set) var tensors: [String: Tensor] = [:]

    public init() {}

    public subscript(name: String) -> Tensor? { tensors[name] }

    /// Runs `body` on the gradient of `name` (zeros of `shape` the first time), in place.
    mutating func update<R>(_ name: String, shape: [Int], _ body: (inout Tensor) -> R) -> R {
        var gradient = tensors.removeValue(forKey: name) ?? Tensor(zeros: shape)
        defer { tensors[name] = gradient }
        return body(&gradient)
    }

    mutating func update<R>(_ weight: String, shape weightShape: [Int], _ bias: String, shape biasShape: [Int],
                            _ body: (inout Tensor, inout Tensor) -> R) -> R {
        var w = tensors.removeValue(forKey: weight) ?? Tensor(zeros: weightShape)
        var b = tensors.removeValue(forKey: bias) ?? Tensor(zeros: biasShape)
        defer { (tensors[weight], tensors[bias]) = (w, b) }
        return body(&w, &b)
    }

    /// The Euclidean norm of all gradients together (what gradient clipping limits).
    public var norm: Double {
        tensors.values.reduce(0.0) { total, tensor in
            tensor.withUnsafeBufferPointer { values in values.reduce(total) { $0 + Double($1) * Double($1) } }
        }.squareRoot()
    }

    /// Multiplies every gradient by `factor`.
    public mutating func scale(by factor: Float) {
        for name in tensors.keys {
            update(name, shape: []) { gradient in
                gradient.withUnsafeMutableBufferPointer { values in
                    for i in values.indices { values[i] *= factor }
                }
            }
        }
    }
}

/// The dropout of one training pass: `hidden` after embeddings and dense layers (and before the
/// classifier), `attention` on attention probabilities. Each layer takes its own substreams.
struct DropoutPlan: Sendable {
    let hidden: Dropout
    let attention: Dropout

    func substream(_ stream: UInt64) -> DropoutPlan {
        DropoutPlan(hidden: hidden.substream(stream), attention: attention.substream(stream))
    }
}

extension Linear {
    /// Adds this layer's weight and bias gradients; returns the input gradient when asked.
    @discardableResult
    func backward(_ outputGradient: Tensor, input: Tensor, gradients: inout ParameterGradients,
                  needsInputGradient: Bool = true) -> Tensor? {
        gradients.update(name + ".weight", shape: weight.shape, name + ".bias", shape: bias.shape) { dWeight, dBias in
            linearBackward(outputGradient, input: input, weight: weight, weightGradient: &dWeight, biasGradient: &dBias,
                           needsInputGradient: needsInputGradient)
        }
    }

    mutating func updateParameters(_ body: (String, inout Tensor) -> Void) {
        body(name + ".weight", &weight)
        body(name + ".bias", &bias)
    }
}

extension LayerNorm {
    func backward(_ outputGradient: Tensor, input: Tensor, gradients: inout ParameterGradients) -> Tensor {
        gradients.update(name + ".weight", shape: weight.shape, name + ".bias", shape: bias.shape) { dWeight, dBias in
            layerNormBackward(outputGradient, input: input, weight: weight, eps: eps, weightGradient: &dWeight, biasGradient: &dBias)
        }
    }

    mutating func updateParameters(_ body: (String, inout Tensor) -> Void) {
        body(name + ".weight", &weight)
        body(name + ".bias", &bias)
    }
}

/// What an embedding layer's backward pass needs from its forward pass.
struct EmbeddingActivations: Sendable {
    let ids: [Int32]
    let types: [Int32]
    /// `table[ids] + typeTable[types]`, the LayerNorm's input.
    let sum: Tensor
}

extension Embeddings {
    func forward(_ ids: [Int32], types: [Int32], dropout: Dropout) -> (Tensor, EmbeddingActivations) {
        let sum = gather(table, rows: ids) + gather(typeTable, rows: types)
        return (dropout.apply(norm(sum)), EmbeddingActivations(ids: ids, types: types, sum: sum))
    }

    func backward(_ outputGradient: Tensor, _ saved: EmbeddingActivations, dropout: Dropout, gradients: inout ParameterGradients) {
        let dSum = norm.backward(dropout.apply(outputGradient), input: saved.sum, gradients: &gradients)
        // Id 0 is padding in both tables, as in the reference (`padding_idx=0`): its row never learns.
        gradients.update(name + ".word_embeddings.weight", shape: table.shape) {
            gatherBackward(dSum, rows: saved.ids, tableGradient: &$0, paddingIndex: 0)
        }
        gradients.update(name + ".token_type_embeddings.weight", shape: typeTable.shape) {
            gatherBackward(dSum, rows: saved.types, tableGradient: &$0)
        }
    }

    mutating func updateParameters(_ body: (String, inout Tensor) -> Void) {
        body(name + ".word_embeddings.weight", &table)
        body(name + ".token_type_embeddings.weight", &typeTable)
        norm.updateParameters(body)
    }
}

/// What a layer's backward pass needs from its forward pass: the input of every operation with
/// parameters, and the inputs of both LayerNorms.
struct LayerActivations: Sendable {
    /// The layer's input (keys and values), and the rows of it that are queries.
    let input, queryInput: Tensor
    let outputs: Segments?
    let query, key, value, context, attentionSum, attended, preActivation, activation, outputSum: Tensor
}

extension TransformerLayer {
    /// The training forward pass: the same arithmetic as `callAsFunction`, with dropout, saving
    /// what the backward pass reads (so the residuals are not fused into the GEMMs here). With
    /// `outputs`, only those first rows of each sequence are computed, as in inference.
    func forward(_ x: Tensor, segments: Segments, positions: RelativePositions, outputs: Segments? = nil,
                 dropout: DropoutPlan) -> (Tensor, LayerActivations) {
        let queryInput = outputs.map { outputs in
            x.rows(segments.starts.indices.map { segments.starts[$0]..<(segments.starts[$0] + outputs.lengths[$0]) })
        } ?? x
        let (q, k, v) = (attention.query(queryInput), attention.key(x), attention.value(x))
        let context = relativeAttention(query: q, key: k, value: v, contentBias: attention.contentBias, positionBias: attention.positionBias,
                                        segments: segments, queries: outputs, positions: positions, dropout: dropout.attention.substream(0))
        let attentionSum = dropout.hidden.substream(1).apply(attentionOutput(context)) + queryInput
        let attended = attentionNorm(attentionSum)
        let preActivation = intermediate(attended)
        let activation = gelu(preActivation)
        let outputSum = dropout.hidden.substream(2).apply(output(activation)) + attended
        let saved = LayerActivations(input: x, queryInput: queryInput, outputs: outputs, query: q, key: k, value: v, context: context,
                                     attentionSum: attentionSum, attended: attended, preActivation: preActivation,
                                     activation: activation, outputSum: outputSum)
        return (outputNorm(outputSum), saved)
    }

    func backward(_ outputGradient: Tensor, _ saved: LayerActivations, segments: Segments, positions: RelativePositions,
                  dropout: DropoutPlan, gradients: inout ParameterGradients) -> Tensor {
        let dOutputSum = outputNorm.backward(outputGradient, input: saved.outputSum, gradients: &gradients)
        let dActivation = output.backward(dropout.hidden.substream(2).apply(dOutputSum), input: saved.activation, gradients: &gradients)!
        let dPreActivation = geluBackward(dActivation, input: saved.preActivation)
        let dAttended = dOutputSum + intermediate.backward(dPreActivation, input: saved.attended, gradients: &gradients)!
        let dAttentionSum = attentionNorm.backward(dAttended, input: saved.attentionSum, gradients: &gradients)
        let dContext = attentionOutput.backward(dropout.hidden.substream(1).apply(dAttentionSum), input: saved.context, gradients: &gradients)!
        let d = relativeAttentionBackward(dContext, query: saved.query, key: saved.key, value: saved.value,
                                          contentBias: attention.contentBias, positionBias: attention.positionBias,
                                          segments: segments, queries: saved.outputs, positions: positions, dropout: dropout.attention.substream(0))
        gradients.update(attention.name + ".r_r_bias", shape: attention.contentBias.shape) { $0 = $0 + d.contentBias }
        gradients.update(attention.name + ".r_w_bias", shape: attention.positionBias.shape) { $0 = $0 + d.positionBias }
        let dQueryInput = dAttentionSum + attention.query.backward(d.query, input: saved.queryInput, gradients: &gradients)!
        var dx = attention.key.backward(d.key, input: saved.input, gradients: &gradients)!
            + attention.value.backward(d.value, input: saved.input, gradients: &gradients)!
        guard let outputs = saved.outputs else { return dx + dQueryInput }
        // The query rows are the first rows of each sequence: add their gradient there.
        let width = dx.shape[1]
        dx.withUnsafeMutableBufferPointer { dx in
            dQueryInput.withUnsafeBufferPointer { dq in
                var row = 0
                for (start, count) in zip(segments.starts, outputs.lengths) {
                    for i in 0..<(count * width) { dx[start * width + i] += dq[row * width + i] }
                    row += count
                }
            }
        }
        return dx
    }

    mutating func updateParameters(_ body: (String, inout Tensor) -> Void) {
        attention.query.updateParameters(body)
        attention.key.updateParameters(body)
        attention.value.updateParameters(body)
        body(attention.name + ".r_r_bias", &attention.contentBias)
        body(attention.name + ".r_w_bias", &attention.positionBias)
        attentionOutput.updateParameters(body)
        attentionNorm.updateParameters(body)
        intermediate.updateParameters(body)
        output.updateParameters(body)
        outputNorm.updateParameters(body)
    }
}
