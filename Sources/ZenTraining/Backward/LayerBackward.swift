import ZenModel
import ZenTensor

// The backward pass of each block of the network, reading what its forward pass recorded
// (`training:` in ZenModel) and meeting its dropout at the same named sites.

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
}

extension LayerNorm {
    func backward(_ outputGradient: Tensor, input: Tensor, gradients: inout ParameterGradients) -> Tensor {
        gradients.update(name + ".weight", shape: weight.shape, name + ".bias", shape: bias.shape) { dWeight, dBias in
            layerNormBackward(outputGradient, input: input, weight: weight, eps: eps, weightGradient: &dWeight, biasGradient: &dBias)
        }
    }
}

extension Embeddings {
    func backward(_ outputGradient: Tensor, _ saved: EmbeddingActivations, dropout: Dropout, gradients: inout ParameterGradients) {
        let dSum = norm.backward(dropout.apply(outputGradient), input: saved.sum, gradients: &gradients)
        // Id 0 is padding in both tables, as in the reference (`padding_idx=0`): its row never learns.
        gradients.update(tableName, shape: table.shape) {
            gatherBackward(dSum, rows: saved.ids, tableGradient: &$0, paddingIndex: 0)
        }
        gradients.update(name + ".token_type_embeddings.weight", shape: typeTable.shape) {
            gatherBackward(dSum, rows: saved.types, tableGradient: &$0)
        }
    }
}

extension TransformerLayer {
    func backward(_ outputGradient: Tensor, _ saved: LayerActivations, segments: Segments, positions: RelativePositions,
                  dropout: LayerDropout, gradients: inout ParameterGradients) -> Tensor {
        let dOutputSum = outputNorm.backward(outputGradient, input: saved.outputSum, gradients: &gradients)
        let dActivation = output.backward(dropout.output.apply(dOutputSum), input: saved.activation, gradients: &gradients)!
        let dPreActivation = geluBackward(dActivation, input: saved.preActivation)
        let dAttended = dOutputSum + intermediate.backward(dPreActivation, input: saved.attended, gradients: &gradients)!
        let dAttentionSum = attentionNorm.backward(dAttended, input: saved.attentionSum, gradients: &gradients)
        let dContext = attentionOutput.backward(dropout.attentionOutput.apply(dAttentionSum), input: saved.attention.context, gradients: &gradients)!
        let d = relativeAttentionBackward(dContext, query: saved.attention.query, key: saved.attention.key, value: saved.attention.value,
                                          contentBias: attention.contentBias, positionBias: attention.positionBias, segments: segments,
                                          queryRows: saved.queryRows, positions: positions, dropout: dropout.attentionProbabilities)
        gradients.update(attention.name + ".r_r_bias", shape: attention.contentBias.shape) { $0 = $0 + d.contentBias }
        gradients.update(attention.name + ".r_w_bias", shape: attention.positionBias.shape) { $0 = $0 + d.positionBias }
        let dQueryInput = dAttentionSum + attention.query.backward(d.query, input: saved.queryInput, gradients: &gradients)!
        var dx = attention.key.backward(d.key, input: saved.input, gradients: &gradients)!
            + attention.value.backward(d.value, input: saved.input, gradients: &gradients)!
        guard let queryRows = saved.queryRows else { return dx + dQueryInput }
        // The query rows are the first rows of each sequence: add their gradient there.
        let width = dx.shape[1]
        dx.withUnsafeMutableBufferPointer { dx in
            dQueryInput.withUnsafeBufferPointer { dq in
                var row = 0
                for (start, count) in zip(segments.starts, queryRows.lengths) {
                    for i in 0..<(count * width) { dx[start * width + i] += dq[row * width + i] }
                    row += count
                }
            }
        }
        return dx
    }
}

extension MaskedLMHead {
    /// The decoder's weight is the table of `embeddings`: its gradient adds into the table's.
    func backward(_ outputGradient: Tensor, _ saved: MaskedLMActivations, tiedTo embeddings: Embeddings,
                  gradients: inout ParameterGradients) -> Tensor {
        let dNormalized = gradients.update(embeddings.tableName, shape: decoder.weight.shape, "cls.predictions.bias", shape: decoder.bias.shape) {
            linearBackward(outputGradient, input: saved.normalized, weight: decoder.weight, weightGradient: &$0, biasGradient: &$1)!
        }
        let dActivation = norm.backward(dNormalized, input: saved.activation, gradients: &gradients)
        return transform.backward(geluBackward(dActivation, input: saved.preActivation), input: saved.input, gradients: &gradients)!
    }
}
