import ZenTensor
import ZenText

/// `LN(table[ids] + typeTable[types])`: the character embeddings, and the n-gram embeddings
/// (whose type is always 0 in the reference pipelines). There are no absolute positions.
struct Embeddings: Sendable {
    let name: String
    var table: Tensor
    var typeTable: Tensor
    var norm: LayerNorm

    init(_ store: WeightStore, _ prefix: String, entries: Int, config: ZenConfig) throws(CheckpointError) {
        name = prefix
        table = try store.tensor(prefix + ".word_embeddings.weight", shape: [entries, config.hiddenSize])
        typeTable = try store.tensor(prefix + ".token_type_embeddings.weight", shape: [config.typeVocabSize, config.hiddenSize])
        norm = try LayerNorm(store, prefix + ".LayerNorm", width: config.hiddenSize, eps: config.layerNormEps)
    }

    func callAsFunction(_ ids: [Int32], types: [Int32]) -> Tensor {
        norm(gather(table, rows: ids) + gather(typeTable, rows: types))
    }
}

/// What the encoder computes for one input.
public struct EncoderOutput: Sendable {
    /// `[T, H]`: the character states after the last layer and its n-gram fusion.
    public var sequence: Tensor
    /// `[H]`: `tanh(W_p · X[0] + b_p)`.
    public var pooled: [Float]
    /// `[T, H]` after each character layer (with its fusion), when asked for.
    public var layers: [Tensor]
}

/// The ZEN 2.0 encoder: character layers, n-gram layers, and the fusion `X += M · G` after every
/// character layer; once the n-gram layers run out, the last n-gram states keep being added.
struct ZenEncoder: Sendable {
    let config: ZenConfig
    var embeddings: Embeddings
    var ngramEmbeddings: Embeddings
    var layers: [TransformerLayer]
    var ngramLayers: [TransformerLayer]
    var pooler: Linear?

    init(_ store: WeightStore, config: ZenConfig) throws(CheckpointError) {
        self.config = config
        embeddings = try Embeddings(store, "embeddings", entries: config.vocabSize, config: config)
        ngramEmbeddings = try Embeddings(store, "word_embeddings", entries: config.wordSize, config: config)
        layers = try (0..<config.numHiddenLayers).map { i throws(CheckpointError) in
            try TransformerLayer(store, "encoder.layer.\(i)", config: config)
        }
        ngramLayers = try (0..<config.numHiddenWordLayers).map { i throws(CheckpointError) in
            try TransformerLayer(store, "encoder.word_layers.\(i)", config: config)
        }
        pooler = store.contains("pooler.dense.weight")
            ? try Linear(store, "pooler.dense", inputs: config.hiddenSize, outputs: config.hiddenSize) : nil
    }

    /// Runs a batch: every sequence at its real length, all of them stacked into the same GEMMs.
    func callAsFunction(_ batch: [InputFeatures], keepLayers: Bool = false) -> [EncoderOutput] {
        guard !batch.isEmpty else { return [] }
        let hidden = config.hiddenSize
        let slots = batch[0].fusionMatrix.columnCount
        let characters = Segments(lengths: batch.map(\.inputIds.count))
        let ngramSlots = Segments(lengths: [Int](repeating: slots, count: batch.count))
        let positions = RelativePositions(lengths: characters.lengths + [slots], dimension: config.headSize)

        // The fusion reads n-gram states only at the kept n-grams (the first slots), so the last
        // n-gram layer computes just those rows; the others remain its keys and values.
        let kept = Segments(lengths: batch.map(\.ngrams.count))
        var x = embeddings(batch.flatMap(\.inputIds), types: batch.flatMap(\.segmentIds))
        var g = ngramEmbeddings(batch.flatMap(\.paddedNgramIds), types: [Int32](repeating: 0, count: ngramSlots.rowCount))
        var gSlots = ngramSlots
        var states: [Tensor] = []
        for (index, layer) in layers.enumerated() {
            x = layer(x, segments: characters, positions: positions)
            if index < ngramLayers.count {
                let isLast = index == ngramLayers.count - 1
                g = ngramLayers[index](g, segments: ngramSlots, positions: positions, outputs: isLast ? kept : nil)
                if isLast { gSlots = kept }
            }
            for (sequence, features) in batch.enumerated() {
                fuse(&x, rows: characters.starts[sequence], features.fusionMatrix, g, slots: gSlots.starts[sequence])
            }
            if keepLayers { states.append(x) }
        }
        let pooled = pooler.map { pooler in
            tanh(pooler(Tensor(shape: [batch.count, hidden], scalars: characters.starts.flatMap { x.row($0) })))
        }
        return batch.indices.map { sequence in
            let rows = characters.rows(sequence)
            return EncoderOutput(sequence: x.rows(rows), pooled: pooled?.row(sequence) ?? [],
                                 layers: states.map { $0.rows(rows) })
        }
    }

    /// `X += M · G` for one sequence, whose characters start at row `rows` of `x` and whose
    /// n-gram slots at row `slots` of `g`; `M` is sparse.
    func fuse(_ x: inout Tensor, rows: Int, _ matrix: FusionMatrix, _ g: Tensor, slots: Int) {
        let width = config.hiddenSize
        g.withUnsafeBufferPointer { g in
            x.withUnsafeMutableBufferPointer { x in
                for entry in matrix.entries {
                    let target = x.baseAddress! + (rows + Int(entry.row)) * width
                    let source = g.baseAddress! + (slots + Int(entry.column)) * width
                    for i in 0..<width { target[i] += entry.value * source[i] }
                }
            }
        }
    }
}
