import ZenTensor
import ZenText

/// `LN(table[ids] + typeTable[types])`: the character embeddings, and the n-gram embeddings
/// (whose type is always 0 in the reference pipelines). There are no absolute positions.
package struct Embeddings: Sendable, ParameterWalkable {
    package let name: String
    let entries, width, types: Int
    package var table = Tensor.unset
    /// Instead of `table`, for bf16 and int8 inference from a half-precision checkpoint: the
    /// table as the file stores it, read in place a row at a time (the 668M release's n-gram
    /// table is 1 GB as float32, and a batch reads a few hundred of its 261,361 rows).
    private var storedTable: TensorData?
    package var typeTable = Tensor.unset
    package var norm: LayerNorm

    init(_ name: String, entries: Int, config: ZenConfig) {
        (self.name, self.entries, width, types) = (name, entries, config.hiddenSize, config.typeVocabSize)
        norm = LayerNorm(name + ".LayerNorm", width: width, eps: config.layerNormEps)
    }

    /// The table's parameter name (the MLM decoder's gradient adds into it).
    package var tableName: String { name + ".word_embeddings.weight" }

    /// The table in float32, widened if it is read in place: what a tied MLM decoder packs.
    package var floatTable: Tensor { storedTable.map { stored in Tensor(shape: stored.shape) { stored.writeFloats(into: $0) } } ?? table }

    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        if let stored = try visitor.storedTable(tableName, shape: [entries, width]) {
            storedTable = stored
        } else {
            try visitor.visit(tableName, shape: [entries, width], kind: .embedding, &table)
        }
        try visitor.visit(name + ".token_type_embeddings.weight", shape: [types, width], kind: .weight, &typeTable)
        try norm.walkParameters(&visitor)
    }

    /// With `dropout` (training), also the LayerNorm's input, which the backward pass reads.
    package func callAsFunction(_ ids: [Int32], types: [Int32], training dropout: Dropout? = nil) -> (output: Tensor, activations: EmbeddingActivations?) {
        let sum = (storedTable?.rows(ids) ?? gather(table, rows: ids)) + gather(typeTable, rows: types)
        guard let dropout else { return (norm(consume sum), nil) }
        return (dropout.apply(norm(sum)), EmbeddingActivations(ids: ids, types: types, sum: sum))
    }
}

/// What an embedding layer's backward pass reads from its forward pass.
package struct EmbeddingActivations: Sendable {
    package let ids: [Int32]
    package let types: [Int32]
    /// `table[ids] + typeTable[types]`, the LayerNorm's input.
    package let sum: Tensor
}

/// The ZEN 2.0 encoder: character layers, n-gram layers, and the fusion `X += M · G` after every
/// character layer; once the n-gram layers run out, the last n-gram states keep being added.
/// The pooler, `tanh(W_p · X[0] + b_p)`, is there when the checkpoint has it.
package struct ZenEncoder: Sendable, ParameterWalkable {
    /// What the network is: its sizes, and how the n-gram encoder attends (`ngram_attention_mask`).
    package var config: ZenConfig
    package var embeddings: Embeddings
    package var ngramEmbeddings: Embeddings
    package var layers: [TransformerLayer]
    package var ngramLayers: [TransformerLayer]
    package var pooler: Linear?

    /// The encoder's shape; its parameters come from walking a source (a checkpoint, or
    /// `RandomParameters` for a new model).
    package init(config: ZenConfig, pooler hasPooler: Bool) {
        self.config = config
        embeddings = Embeddings("embeddings", entries: config.vocabSize, config: config)
        ngramEmbeddings = Embeddings("word_embeddings", entries: config.wordSize, config: config)
        layers = (0..<config.numHiddenLayers).map { TransformerLayer("encoder.layer.\($0)", config: config) }
        ngramLayers = (0..<config.numHiddenWordLayers).map { TransformerLayer("encoder.word_layers.\($0)", config: config) }
        pooler = hasPooler ? Linear("pooler.dense", inputs: config.hiddenSize, outputs: config.hiddenSize) : nil
    }

    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try embeddings.walkParameters(&visitor)
        try ngramEmbeddings.walkParameters(&visitor)
        for index in layers.indices { try layers[index].walkParameters(&visitor) }
        for index in ngramLayers.indices { try ngramLayers[index].walkParameters(&visitor) }
        try pooler?.walkParameters(&visitor)
    }

    /// Runs a batch: every sequence at its real length (what the reference computes at real
    /// positions, whatever its padding), all of them stacked into the same GEMMs. Returns the
    /// final character states `[Σ T, H]`, and with `keepLayers` those after each layer.
    ///
    /// The n-gram encoder runs over every n-gram slot, except that the fusion reads its states
    /// only at the kept n-grams (the first slots), so its last layer computes just those rows;
    /// a batch without any n-gram to fuse skips it, since its output would be multiplied by zero.
    /// With `training`, dropout applies and what the backward pass reads is recorded.
    package func callAsFunction(_ batch: [InputFeatures], keepLayers: Bool = false, training dropout: DropoutStreams? = nil) -> EncoderPass {
        let slots = batch[0].fusionMatrix.columnCount
        let characters = Segments(lengths: batch.map(\.inputIds.count))
        // Pre-training's n-gram attention (`ngram_attention_mask`) adds −10000 on the padded
        // slots' keys, an exact zero after the softmax: the real hits attend only to each other,
        // so only they are computed, typed by the segment of their first token (spec section 7).
        let masksNgrams = config.ngramAttentionMask
        let ngramSlots = Segments(lengths: masksNgrams ? batch.map(\.ngrams.count) : [Int](repeating: slots, count: batch.count))
        let keptNgrams = Segments(lengths: batch.map(\.ngrams.count))
        let usesNgrams = batch.contains { !$0.fusionMatrix.entries.isEmpty }
        let positions = RelativePositions(lengths: characters.lengths + ngramSlots.lengths, dimension: config.headSize)

        var (x, embedded) = embeddings(batch.flatMap(\.inputIds), types: batch.flatMap(\.segmentIds), training: dropout?.embeddings)
        var g = Tensor(zeros: [0, config.hiddenSize])
        var ngramEmbedded: EmbeddingActivations?
        if usesNgrams {
            let (ids, types) = masksNgrams
                ? (batch.flatMap { $0.ngrams.map(\.id) }, batch.flatMap { features in features.ngrams.map { features.segmentIds[Int($0.start)] } })
                : (batch.flatMap(\.paddedNgramIds), [Int32](repeating: 0, count: ngramSlots.rowCount))
            (g, ngramEmbedded) = ngramEmbeddings(ids, types: types, training: dropout?.ngramEmbeddings)
        }
        /// Where each sequence's n-gram states lie in `g`: all slots, then the kept ones only.
        var ngramRows = ngramSlots
        var layerActivations: [LayerActivations] = [], ngramActivations: [LayerActivations] = []
        var states: [Tensor] = []
        for (index, layer) in layers.enumerated() {
            let saved: LayerActivations?
            (x, saved) = layer(x, segments: characters, positions: positions, training: dropout?.characterLayer(index))
            if let saved { layerActivations.append(saved) }
            if usesNgrams {
                if index < ngramLayers.count {
                    let isLast = index == ngramLayers.count - 1
                    let saved: LayerActivations?
                    (g, saved) = ngramLayers[index](g, segments: ngramSlots, positions: positions, queryRows: isLast && !masksNgrams ? keptNgrams : nil,
                                                    training: dropout?.ngramLayer(index))
                    if let saved { ngramActivations.append(saved) }
                    if isLast { ngramRows = keptNgrams }
                }
                for (sequence, features) in batch.enumerated() {
                    features.fusionMatrix.fuse(&x, rows: characters.starts[sequence], &g, slots: ngramRows.starts[sequence])
                }
            }
            if keepLayers { states.append(x) }
        }
        let activations = dropout.map { _ in
            EncoderActivations(batch: batch, characters: characters, ngramSlots: ngramSlots, keptNgrams: keptNgrams, usesNgrams: usesNgrams,
                               positions: positions, embeddings: embedded!, ngramEmbeddings: ngramEmbedded,
                               layers: layerActivations, ngramLayers: ngramActivations)
        }
        return EncoderPass(states: x, characters: characters, layers: states, activations: activations)
    }

    /// The pooler over the first row of each sequence: its input `[B, H]` and output, or nil
    /// without a pooler.
    package func pool(_ states: Tensor, characters: Segments) -> (input: Tensor, output: Tensor)? {
        guard let pooler else { return nil }
        let first = states.rows(characters.starts.map { $0..<($0 + 1) })
        return (first, tanh(pooler(first)))
    }
}

extension FusionMatrix {
    /// The fusion `X += M · G` of one sequence, whose characters start at row `rows` of `x` and
    /// whose n-gram states at row `slots` of `g`; or, `transposed`, its backward `G += Mᵀ · X`
    /// (then `x` is read and `g` written). `M` is sparse.
    package func fuse(_ x: inout Tensor, rows: Int, _ g: inout Tensor, slots: Int, transposed: Bool = false) {
        let width = x.shape[1]
        func add(into target: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, targetRow: (Entry) -> Int, sourceRow: (Entry) -> Int) {
            for entry in entries {
                let (to, from) = (target + targetRow(entry) * width, source + sourceRow(entry) * width)
                for i in 0..<width { to[i] += entry.value * from[i] }
            }
        }
        if transposed {
            x.withUnsafeBufferPointer { x in
                g.withUnsafeMutableBufferPointer { g in
                    add(into: g.baseAddress!, from: x.baseAddress!, targetRow: { slots + Int($0.column) }, sourceRow: { rows + Int($0.row) })
                }
            }
        } else {
            g.withUnsafeBufferPointer { g in
                x.withUnsafeMutableBufferPointer { x in
                    add(into: x.baseAddress!, from: g.baseAddress!, targetRow: { rows + Int($0.row) }, sourceRow: { slots + Int($0.column) })
                }
            }
        }
    }
}

/// One encoder pass over a batch.
package struct EncoderPass {
    /// `[Σ T, H]`: the character states after the last layer and its fusion.
    package var states: Tensor
    package var characters: Segments
    /// The states after each layer, when asked for.
    package var layers: [Tensor]
    /// What the backward pass reads, in training.
    package var activations: EncoderActivations?
}

/// What the encoder's backward pass reads from its training forward pass.
package struct EncoderActivations: Sendable {
    package let batch: [InputFeatures]
    package let characters: Segments
    package let ngramSlots: Segments
    /// The n-grams each sequence keeps: the rows the last n-gram layer computes.
    package let keptNgrams: Segments
    /// False when no input of the batch has an n-gram to fuse: the n-gram encoder was skipped.
    package let usesNgrams: Bool
    package let positions: RelativePositions
    package let embeddings: EmbeddingActivations
    package let ngramEmbeddings: EmbeddingActivations?
    package let layers: [LayerActivations]
    package let ngramLayers: [LayerActivations]
}
