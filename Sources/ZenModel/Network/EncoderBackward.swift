import ZenTensor
import ZenText

/// What the encoder's backward pass needs from its training forward pass.
struct EncoderActivations: Sendable {
    let batch: [InputFeatures]
    let characters: Segments
    let ngramSlots: Segments
    let positions: RelativePositions
    let embeddings: EmbeddingActivations
    let ngramEmbeddings: EmbeddingActivations
    let layers: [LayerActivations]
    let ngramLayers: [LayerActivations]
}

extension ZenEncoder {
    /// The training forward pass over a batch: every sequence at its real length (what the
    /// reference computes at real positions, whatever its padding), all 128 n-gram slots, and
    /// every n-gram row of the last n-gram layer (the inference pass skips the unread ones).
    func forward(_ batch: [InputFeatures], dropout: DropoutPlan) -> (Tensor, EncoderActivations) {
        let slots = batch[0].fusionMatrix.columnCount
        let characters = Segments(lengths: batch.map(\.inputIds.count))
        let ngramSlots = Segments(lengths: [Int](repeating: slots, count: batch.count))
        let positions = RelativePositions(lengths: characters.lengths + [slots], dimension: config.headSize)
        var (x, embedded) = embeddings.forward(batch.flatMap(\.inputIds), types: batch.flatMap(\.segmentIds),
                                               dropout: dropout.hidden.substream(1))
        var (g, ngramEmbedded) = ngramEmbeddings.forward(batch.flatMap(\.paddedNgramIds), types: [Int32](repeating: 0, count: ngramSlots.rowCount),
                                                         dropout: dropout.hidden.substream(2))
        var layerActivations: [LayerActivations] = [], ngramActivations: [LayerActivations] = []
        for (index, layer) in layers.enumerated() {
            let saved: LayerActivations
            (x, saved) = layer.forward(x, segments: characters, positions: positions, dropout: dropout.substream(100 + UInt64(index)))
            layerActivations.append(saved)
            if index < ngramLayers.count {
                let saved: LayerActivations
                (g, saved) = ngramLayers[index].forward(g, segments: ngramSlots, positions: positions,
                                                        dropout: dropout.substream(200 + UInt64(index)))
                ngramActivations.append(saved)
            }
            for (sequence, features) in batch.enumerated() {
                fuse(&x, rows: characters.starts[sequence], features.fusionMatrix, g, slots: ngramSlots.starts[sequence])
            }
        }
        return (x, EncoderActivations(batch: batch, characters: characters, ngramSlots: ngramSlots, positions: positions,
                                      embeddings: embedded, ngramEmbeddings: ngramEmbedded,
                                      layers: layerActivations, ngramLayers: ngramActivations))
    }

    /// Backward through the layers from the gradient of the final character states. The n-gram
    /// states added after character layer i come from n-gram layer min(i, last), so their
    /// gradient collects over every later fusion before it enters that layer.
    func backward(_ outputGradient: Tensor, _ saved: EncoderActivations, dropout: DropoutPlan, gradients: inout ParameterGradients) {
        var dx = outputGradient
        var dg = Tensor(zeros: [saved.ngramSlots.rowCount, config.hiddenSize])
        for index in layers.indices.reversed() {
            for (sequence, features) in saved.batch.enumerated() {
                fuseBackward(dx, rows: saved.characters.starts[sequence], features.fusionMatrix, &dg, slots: saved.ngramSlots.starts[sequence])
            }
            if index < ngramLayers.count {
                dg = ngramLayers[index].backward(dg, saved.ngramLayers[index], segments: saved.ngramSlots, positions: saved.positions,
                                                 dropout: dropout.substream(200 + UInt64(index)), gradients: &gradients)
            }
            dx = layers[index].backward(dx, saved.layers[index], segments: saved.characters, positions: saved.positions,
                                        dropout: dropout.substream(100 + UInt64(index)), gradients: &gradients)
        }
        embeddings.backward(dx, saved.embeddings, dropout: dropout.hidden.substream(1), gradients: &gradients)
        ngramEmbeddings.backward(dg, saved.ngramEmbeddings, dropout: dropout.hidden.substream(2), gradients: &gradients)
    }

    /// Backward of `fuse`: `dG[slot] += Mᵀ · dX` for one sequence.
    private func fuseBackward(_ dx: Tensor, rows: Int, _ matrix: FusionMatrix, _ dg: inout Tensor, slots: Int) {
        let width = config.hiddenSize
        dx.withUnsafeBufferPointer { dx in
            dg.withUnsafeMutableBufferPointer { dg in
                for entry in matrix.entries {
                    let target = dg.baseAddress! + (slots + Int(entry.column)) * width
                    let source = dx.baseAddress! + (rows + Int(entry.row)) * width
                    for i in 0..<width { target[i] += entry.value * source[i] }
                }
            }
        }
    }

    mutating func updateParameters(_ body: (String, inout Tensor) -> Void) {
        embeddings.updateParameters(body)
        ngramEmbeddings.updateParameters(body)
        for index in layers.indices { layers[index].updateParameters(body) }
        for index in ngramLayers.indices { ngramLayers[index].updateParameters(body) }
        pooler?.updateParameters(body)
    }
}
