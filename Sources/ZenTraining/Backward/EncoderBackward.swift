import ZenModel
import ZenTensor
import ZenText

extension ZenEncoder {
    /// Backward through the layers from the gradient of the final character states. The n-gram
    /// states added after character layer i come from n-gram layer min(i, last), so their
    /// gradient collects over every later fusion before it enters that layer.
    func backward(_ outputGradient: Tensor, _ saved: EncoderActivations, dropout: DropoutStreams, gradients: inout ParameterGradients) {
        var dx = outputGradient
        let lastNgramLayer = ngramLayers.count - 1
        /// Where each sequence's n-gram states lie: the kept rows after the last n-gram layer.
        var ngramRows = ngramLayers.isEmpty ? saved.ngramSlots : saved.keptNgrams
        var dg = Tensor(zeros: [ngramRows.rowCount, dx.shape[1]])
        for index in layers.indices.reversed() {
            if saved.usesNgrams {
                for (sequence, features) in saved.batch.enumerated() {
                    features.fusionMatrix.fuse(&dx, rows: saved.characters.starts[sequence], &dg, slots: ngramRows.starts[sequence], transposed: true)
                }
                if index <= lastNgramLayer {
                    dg = ngramLayers[index].backward(dg, saved.ngramLayers[index], segments: saved.ngramSlots, positions: saved.positions,
                                                     dropout: dropout.ngramLayer(index), gradients: &gradients)
                    ngramRows = saved.ngramSlots
                }
            }
            dx = layers[index].backward(dx, saved.layers[index], segments: saved.characters, positions: saved.positions,
                                        dropout: dropout.characterLayer(index), gradients: &gradients)
        }
        embeddings.backward(dx, saved.embeddings, dropout: dropout.embeddings, gradients: &gradients)
        if let ngramEmbedded = saved.ngramEmbeddings {
            ngramEmbeddings.backward(dg, ngramEmbedded, dropout: dropout.ngramEmbeddings, gradients: &gradients)
        } else {
            gradients.touch(ngramEmbeddings)
            for layer in ngramLayers { gradients.touch(layer) }
        }
    }
}
