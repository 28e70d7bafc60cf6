import Foundation

/// Where each sequence's rows lie in a batch stacked row-wise, `[Σ T, H]`: every sequence runs at
/// its real length, so there is no padding and no mask.
public struct Segments: Sendable {
    public let starts: [Int]
    public let lengths: [Int]

    public init(lengths: [Int]) {
        self.lengths = lengths
        var starts: [Int] = []
        var total = 0
        for length in lengths {
            starts.append(total)
            total += length
        }
        self.starts = starts
        rowCount = total
    }

    public let rowCount: Int
    public var count: Int { lengths.count }
    public func rows(_ index: Int) -> Range<Int> { starts[index]..<(starts[index] + lengths[index]) }

    /// The first `first.lengths[s]` rows of each sequence `s`.
    public func leadingRows(_ first: Segments) -> [Range<Int>] {
        starts.indices.map { starts[$0]..<(starts[$0] + first.lengths[$0]) }
    }
}

/// Transformer-XL style self-attention scores and context with relative sinusoidal positions,
/// as in every ZEN 2.0 layer (spec section 5). For query i, key j and each head:
///
///     score(i, j) = ((q_i + r_r_bias) · k_j + (q_i + r_w_bias) · R(j − i)) / √d
///
/// `key` and `value` are the projections `[Σ T, H]` of a stacked batch, `query` those of every
/// row too, or, with `queryRows`, of only the first `queryRows.lengths[s]` positions of each sequence
/// (a last layer whose other outputs nobody reads); the biases are `[heads, d]`. The result has
/// one row per query. For each sequence and head (in parallel) the content term is one GEMM
/// against the keys and the position term one GEMM against the `2T − 1` sinusoid rows of the
/// distances that occur, read back along the diagonals. There is no mask: characters run at
/// their real length, and the 128 n-gram slots attend to each other, padding included, as the
/// reference does.
public func relativeAttention(query: Tensor, key: Tensor, value: Tensor, contentBias: Tensor, positionBias: Tensor,
                              segments: Segments, queryRows: Segments? = nil, positions: RelativePositions,
                              dropout: Dropout? = nil) -> Tensor {
    let shape = AttentionShape(query: query, key: key, value: value, contentBias: contentBias, segments: segments, queryRows: queryRows)
    var context = Tensor.uninitialized([shape.queryRows.rowCount, shape.hidden])   // every (sequence, head) block is written
    context.withUnsafeMutableBufferPointer { output in
    query.withUnsafeBufferPointer { q in
    key.withUnsafeBufferPointer { k in
    value.withUnsafeBufferPointer { v in
    contentBias.withUnsafeBufferPointer { contentBias in
    positionBias.withUnsafeBufferPointer { positionBias in
        let inputs = AttentionInputs(q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!,
                                     contentBias: contentBias.baseAddress!, positionBias: positionBias.baseAddress!)
        let output = UnsafeSendablePointer(output.baseAddress!)
        parallelFor(segments.count * shape.heads) { task in
            let block = shape.block(task, positions: positions)
            guard block.count > 0 else { return }
            let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: block.count * block.length)
            defer { probabilities.deallocate() }
            attentionProbabilities(inputs, block, into: probabilities)
            dropout?.substream(UInt64(task)).apply(probabilities, count: block.count * block.length)
            GEMM.sgemm(transposeA: false, transposeB: false, m: block.count, n: shape.headSize, k: block.length,
                       a: probabilities, lda: block.length, b: inputs.v + block.keyOffset, ldb: shape.hidden,
                       c: output.pointer + block.queryOffset, ldc: shape.hidden)
        }
    }}}}}}
    return context
}

/// Gradients of `relativeAttention` with respect to its projections and both biases, given the
/// gradient of its context and the same inputs (and dropout) as the forward pass, whose
/// probabilities are recomputed rather than stored. The sinusoids are constants.
public func relativeAttentionBackward(_ contextGradient: Tensor, query: Tensor, key: Tensor, value: Tensor,
                                      contentBias: Tensor, positionBias: Tensor, segments: Segments, queryRows: Segments? = nil,
                                      positions: RelativePositions, dropout: Dropout? = nil)
    -> (query: Tensor, key: Tensor, value: Tensor, contentBias: Tensor, positionBias: Tensor) {
    let shape = AttentionShape(query: query, key: key, value: value, contentBias: contentBias, segments: segments, queryRows: queryRows)
    precondition(contextGradient.shape == query.shape, "relativeAttentionBackward: gradient \(contextGradient.shape) is not \(query.shape)")
    let (hidden, headSize, heads) = (shape.hidden, shape.headSize, shape.heads)
    var (dq, dk, dv) = (Tensor(zeros: query.shape), Tensor(zeros: key.shape), Tensor(zeros: value.shape))
    // Each task's bias gradients go to its own row; rows of the same head are summed at the end.
    let tasks = segments.count * heads
    var biasGradients = Tensor(zeros: [tasks, 2 * headSize])
    dq.withUnsafeMutableBufferPointer { dq in
    dk.withUnsafeMutableBufferPointer { dk in
    dv.withUnsafeMutableBufferPointer { dv in
    biasGradients.withUnsafeMutableBufferPointer { biasGradients in
    contextGradient.withUnsafeBufferPointer { dc in
    query.withUnsafeBufferPointer { q in
    key.withUnsafeBufferPointer { k in
    value.withUnsafeBufferPointer { v in
    contentBias.withUnsafeBufferPointer { contentBias in
    positionBias.withUnsafeBufferPointer { positionBias in
        let inputs = AttentionInputs(q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!,
                                     contentBias: contentBias.baseAddress!, positionBias: positionBias.baseAddress!)
        let (dq, dk, dv) = (UnsafeSendablePointer(dq.baseAddress!), UnsafeSendablePointer(dk.baseAddress!), UnsafeSendablePointer(dv.baseAddress!))
        let (dc, biasGradients) = (shared(dc), UnsafeSendablePointer(biasGradients.baseAddress!))
        parallelFor(tasks) { task in
            let block = shape.block(task, positions: positions)
            let (count, length, span) = (block.count, block.length, 2 * block.length - 1)
            guard count > 0 else { return }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * count * length + count * span + count * headSize)
            defer { scratch.deallocate() }
            let probabilities = scratch, dropped = scratch + count * length, gradient = dropped + count * length
            let diagonals = gradient + count * length, shifted = diagonals + count * span
            attentionProbabilities(inputs, block, into: probabilities)
            dropped.update(from: probabilities, count: count * length)
            let mask = dropout?.substream(UInt64(task))
            mask?.apply(dropped, count: count * length)
            let dcBlock = dc.pointer + block.queryOffset
            // dV = P'ᵀ · dC; dP' = dC · Vᵀ, then back through the dropout.
            GEMM.sgemm(transposeA: true, transposeB: false, m: length, n: headSize, k: count,
                       a: dropped, lda: length, b: dcBlock, ldb: hidden, c: dv.pointer + block.keyOffset, ldc: hidden)
            GEMM.sgemm(transposeA: false, transposeB: true, m: count, n: length, k: headSize,
                       a: dcBlock, lda: hidden, b: inputs.v + block.keyOffset, ldb: hidden, c: gradient, ldc: length)
            mask?.apply(gradient, count: count * length)
            // Softmax: dS = P ∘ (dP − Σ_j dP ∘ P), times the 1/√d of the scores.
            for i in 0..<count {
                let (p, g) = (probabilities + i * length, gradient + i * length)
                var dot: Float = 0
                for j in 0..<length { dot += p[j] * g[j] }
                for j in 0..<length { g[j] = p[j] * (g[j] - dot) * block.scale }
            }
            let dqBlock = dq.pointer + block.queryOffset
            let (dContent, dPosition) = (biasGradients.pointer + task * 2 * headSize, biasGradients.pointer + task * 2 * headSize + headSize)
            // Content term (q + r_r_bias) · kᵀ: dq = dS · K, dK = dSᵀ · (q + r_r_bias).
            block.shift(inputs, by: inputs.contentBias, into: shifted)
            GEMM.sgemm(transposeA: false, transposeB: false, m: count, n: headSize, k: length,
                       a: gradient, lda: length, b: inputs.k + block.keyOffset, ldb: hidden, c: dqBlock, ldc: hidden)
            GEMM.sgemm(transposeA: true, transposeB: false, m: length, n: headSize, k: count,
                       a: gradient, lda: length, b: shifted, ldb: headSize, c: dk.pointer + block.keyOffset, ldc: hidden)
            for i in 0..<count {
                for c in 0..<headSize { dContent[c] += dqBlock[i * hidden + c] }
            }
            // Position term (q + r_w_bias) · R(j − i): lay dS along the diagonals it was read
            // from, then dq += D · R.
            diagonals.initialize(repeating: 0, count: count * span)
            for i in 0..<count {
                let (source, target) = (gradient + i * length, diagonals + i * span + (length - 1 - i))
                for j in 0..<length { target[j] = source[j] }
            }
            // The position term's dq goes to the scratch first, so its bias gradient can be summed.
            block.positions.withUnsafeBufferPointer { r in
                GEMM.sgemm(transposeA: false, transposeB: false, m: count, n: headSize, k: span,
                           a: diagonals, lda: span, b: r.baseAddress!, ldb: headSize, c: shifted, ldc: headSize)
            }
            for i in 0..<count {
                for c in 0..<headSize {
                    dqBlock[i * hidden + c] += shifted[i * headSize + c]
                    dPosition[c] += shifted[i * headSize + c]
                }
            }
        }
    }}}}}}}}}}
    var dContent = Tensor(zeros: [heads, headSize]), dPosition = Tensor(zeros: [heads, headSize])
    dContent.withUnsafeMutableBufferPointer { dContent in
        dPosition.withUnsafeMutableBufferPointer { dPosition in
            biasGradients.withUnsafeBufferPointer { partial in
                for task in 0..<tasks {
                    let head = task % heads
                    for c in 0..<headSize {
                        dContent[head * headSize + c] += partial[task * 2 * headSize + c]
                        dPosition[head * headSize + c] += partial[task * 2 * headSize + headSize + c]
                    }
                }
            }
        }
    }
    return (dq, dk, dv, dContent, dPosition)
}

/// The sizes of one attention call, checked once.
private struct AttentionShape {
    let heads, headSize, hidden: Int
    let segments, queryRows: Segments

    init(query: Tensor, key: Tensor, value: Tensor, contentBias: Tensor, segments: Segments, queryRows: Segments?) {
        (heads, headSize) = (contentBias.shape[0], contentBias.shape[1])
        hidden = heads * headSize
        self.segments = segments
        self.queryRows = queryRows ?? segments
        precondition(key.shape == [segments.rowCount, hidden] && value.shape == key.shape && query.shape == [self.queryRows.rowCount, hidden],
                     "relativeAttention: projections \(query.shape), \(key.shape) do not fit \(self.queryRows.rowCount) and \(segments.rowCount) rows of \(hidden)")
        precondition(zip(self.queryRows.lengths, segments.lengths).allSatisfy { $0 <= $1 }, "relativeAttention: more queries than keys")
    }

    /// Task `task` is one head of one sequence.
    func block(_ task: Int, positions: RelativePositions) -> AttentionBlock {
        let (segment, head) = task.quotientAndRemainder(dividingBy: heads)
        let (keys, queries) = (segments.rows(segment), self.queryRows.rows(segment))
        return AttentionBlock(count: queries.count, length: keys.count, headSize: headSize, hidden: hidden,
                              keyOffset: keys.lowerBound * hidden + head * headSize,
                              queryOffset: queries.lowerBound * hidden + head * headSize, head: head,
                              scale: 1 / Float(headSize).squareRoot(), positions: positions.table(length: keys.count))
    }
}

/// One head of one sequence: its `count` queries are the first of its `length` positions.
private struct AttentionBlock {
    let count, length, headSize, hidden, keyOffset, queryOffset, head: Int
    let scale: Float
    let positions: Tensor

    /// `q + bias` of this block's queries, `[count, d]`.
    func shift(_ inputs: AttentionInputs, by bias: UnsafePointer<Float>, into shifted: UnsafeMutablePointer<Float>) {
        let (q, b) = (inputs.q + queryOffset, bias + head * headSize)
        for row in 0..<count {
            for c in 0..<headSize { shifted[row * headSize + c] = q[row * hidden + c] + b[c] }
        }
    }
}

/// Raw pointers into the batch's projections, shared by the parallel tasks, each of which
/// writes only its own rows and head columns.
private struct AttentionInputs: @unchecked Sendable {
    let q, k, v, contentBias, positionBias: UnsafePointer<Float>
}

/// The softmax of one block's scores, `[count, length]`: the content term is one GEMM against
/// the keys and the position term one GEMM against the `2T − 1` sinusoid rows of the distances
/// that occur, read back along the diagonals.
private func attentionProbabilities(_ inputs: AttentionInputs, _ block: AttentionBlock, into scores: UnsafeMutablePointer<Float>) {
    let (count, length, headSize, span) = (block.count, block.length, block.headSize, 2 * block.length - 1)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * headSize + count * span)
    defer { scratch.deallocate() }
    let shifted = scratch, position = scratch + count * headSize
    // (q + r_r_bias) · kᵀ
    block.shift(inputs, by: inputs.contentBias, into: shifted)
    GEMM.sgemm(transposeA: false, transposeB: true, m: count, n: length, k: headSize,
               a: shifted, lda: headSize, b: inputs.k + block.keyOffset, ldb: block.hidden, c: scores, ldc: length)
    // (q + r_w_bias) · R(p)ᵀ for every distance p, then score(i, j) takes p = j − i.
    block.shift(inputs, by: inputs.positionBias, into: shifted)
    block.positions.withUnsafeBufferPointer { r in
        GEMM.sgemm(transposeA: false, transposeB: true, m: count, n: span, k: headSize,
                   a: shifted, lda: headSize, b: r.baseAddress!, ldb: headSize, c: position, ldc: span)
    }
    for i in 0..<count {
        let diagonal = position + i * span + (length - 1 - i)
        let row = scores + i * length
        for j in 0..<length { row[j] = (row[j] + diagonal[j]) * block.scale }
    }
    softmaxRowsInPlace(scores, rows: count, columns: length)
}

/// The relative sinusoid `R(p) = [sin(p·w_0) … sin(p·w_{d/2−1}), cos(p·w_0) … cos(p·w_{d/2−1})]`,
/// `w_m = exp(−m · ln(10000) / (d/2 − 1))`, computed in float32 as the reference's table is, for
/// each sequence length of a batch.
public struct RelativePositions: Sendable {
    private let tables: [Int: Tensor]

    public init(lengths: some Sequence<Int>, dimension: Int) {
        var tables: [Int: Tensor] = [:]
        for length in lengths where tables[length] == nil {
            tables[length] = Self.table(length: length, dimension: dimension)
        }
        self.tables = tables
    }

    /// `[2T − 1, d]`, row r holding R(r − (T − 1)); empty for T = 0 (a sequence without n-gram
    /// hits, whose masked n-gram attention has no positions).
    public func table(length: Int) -> Tensor { tables[length]! }

    public static func table(length: Int, dimension: Int) -> Tensor {
        let half = dimension / 2
        let step = Float(log(10000.0) / Double(half - 1))
        let frequencies = (0..<half).map { expf(Float($0) * -step) }
        let rows = max(0, 2 * length - 1)
        return Tensor(shape: [rows, dimension]) { values in
            for row in 0..<rows {
                let p = Float(row - (length - 1))
                for m in 0..<half {
                    let angle = p * frequencies[m]
                    values[row * dimension + m] = sinf(angle)
                    values[row * dimension + half + m] = cosf(angle)
                }
            }
        }
    }
}
