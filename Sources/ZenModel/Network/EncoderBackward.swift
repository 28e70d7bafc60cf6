import ZenTensor
import ZenText

/// What the encoder's backward pass needs from its training forward pass.
struct EncoderActivations: Sendable {
    let batch: [InputFeatures]
    let characters: Segments
    let ngramSlots: Segments
    /// The n-grams each sequence keeps: the rows the last n-gram layer computes.
    let kept: Segments
    /// False when no input of the batch has an n-gram to fuse: the n-gram encoder was skipped.
    let usesNgrams: Bool
    let positions: RelativePositions
    let embeddings: EmbeddingActivations
    let ngramEmbeddings: EmbeddingActivations?
    let layers: [LayerActivations]
    let ngramLayers: [LayerActivations]
}

extension ZenEncoder {
    /// The training forward pass over a batch: every sequence at its real length (what the
    /// reference computes at real positions, whatever its padding), all 128 n-gram slots, of
    /// which the last n-gram layer computes the kept ones only (the others are never read).
    /// A batch without any n-gram to fuse skips the n-gram encoder, whose output it would
    /// multiply by zero.
    func forward(_ batch: [InputFeatures], dropout: DropoutPlan) -> (Tensor, EncoderActivations) {
        let slots = batch[0].fusionMatrix.columnCount
        let characters = Segments(lengths: batch.map(\.inputIds.count))
        let ngramSlots = Segments(lengths: [Int](repeating: slots, count: batch.count))
        let kept = Segments(lengths: batch.map(\.ngrams.count))
        let usesNgrams = batch.contains { !$0.fusionMatrix.entries.isEmpty }
        let positions = RelativePositions(lengths: characters.lengths + [slots], dimension: config.headSize)
        var (x, embedded) = embeddings.forward(batch.flatMap(\.inputIds), types: batch.flatMap(\.segmentIds),
                                               dropout: dropout.hidden.substream(1))
        var g = Tensor(zeros: [0, config.hiddenSize])
        var ngramEmbedded: EmbeddingActivations?
        if usesNgrams {
            (g, ngramEmbedded) = ngramEmbeddings.forward(batch.flatMap(\.paddedNgramIds), types: [Int32](repeating: 0, count: ngramSlots.rowCount),
                                                         dropout: dropout.hidden.substream(2))
        }
        var gSlots = ngramSlots
        var layerActivations: [LayerActivations] = [], ngramActivations: [LayerActivations] = []
        for (index, layer) in layers.enumerated() {
            let saved: LayerActivations
            (x, saved) = layer.forward(x, segments: characters, positions: positions, dropout: dropout.substream(100 + UInt64(index)))
            layerActivations.append(saved)
            guard usesNgrams else { continue }
            if index < ngramLayers.count {
                let isLast = index == ngramLayers.count - 1
                let saved: LayerActivations
                (g, saved) = ngramLayers[index].forward(g, segments: ngramSlots, positions: positions, outputs: isLast ? kept : nil,
                                                        dropout: dropout.substream(200 + UInt64(index)))
                ngramActivations.append(saved)
                if isLast { gSlots = kept }
            }
            for (sequence, features) in batch.enumerated() {
                fuse(&x, rows: characters.starts[sequence], features.fusionMatrix, g, slots: gSlots.starts[sequence])
            }
        }
        return (x, EncoderActivations(batch: batch, characters: characters, ngramSlots: ngramSlots, kept: kept, usesNgrams: usesNgrams,
                                      positions: positions, embeddings: embedded, ngramEmbeddings: ngramEmbedded,
                                      layers: layerActivations, ngramLayers: ngramActivations))
    }

    /// Backward through the layers from the gradient of the final character states. The n-gram
    /// states added after character layer i come from n-gram layer min(i, last), so their
    /// gradient collects over every later fusion before it enters that layer.
    func backward(_ outputGradient: Tensor, _ saved: EncoderActivations, dropout: DropoutPlan, gradients: inout ParameterGradients) {
        var dx = outputGradient
        let lastNgramLayer = ngramLayers.count - 1
        var gSlots = ngramLayers.isEmpty ? saved.ngramSlots : saved.kept
        var dg = Tensor(zeros: [gSlots.rowCount, config.hiddenSize])
        for index in layers.indices.reversed() {
            if saved.usesNgrams {
                for (sequence, features) in saved.batch.enumerated() {
                    fuseBackward(dx, rows: saved.characters.starts[sequence], features.fusionMatrix, &dg, slots: gSlots.starts[sequence])
                }
                if index <= lastNgramLayer {
                    dg = ngramLayers[index].backward(dg, saved.ngramLayers[index], segments: saved.ngramSlots, positions: saved.positions,
                                                     dropout: dropout.substream(200 + UInt64(index)), gradients: &gradients)
                    gSlots = saved.ngramSlots
                }
            }
            dx = layers[index].backward(dx, saved.layers[index], segments: saved.characters, positions: saved.positions,
                                        dropout: dropout.substream(100 + UInt64(index)), gradients: &gradients)
        }
        embeddings.backward(dx, saved.embeddings, dropout: dropout.hidden.substream(1), gradients: &gradients)
        if let ngramEmbedded = saved.ngramEmbeddings {
            ngramEmbeddings.backward(dg, ngramEmbedded, dropout: dropout.hidden.substream(2), gradients: &gradients)
        } else {
            // Skipped, the n-gram parameters still take a (zero) gradient: AdamW moves and decays
            // them as torch does with parameters whose gradient is zero.
            var ngramParameters = (ngramEmbeddings, ngramLayers)
            ngramParameters.0.updateParameters { name, tensor in gradients.update(name, shape: tensor.shape) { _ in } }
            for index in ngramParameters.1.indices {
                ngramParameters.1[index].updateParameters { name, tensor in gradients.update(name, shape: tensor.shape) { _ in } }
            }
        }
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
