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
}

/// Transformer-XL style self-attention scores and context with relative sinusoidal positions,
/// as in every ZEN 2.0 layer (spec section 5). For query i, key j and each head:
///
///     score(i, j) = ((q_i + r_r_bias) · k_j + (q_i + r_w_bias) · R(j − i)) / √d
///
/// `key` and `value` are the projections `[Σ T, H]` of a stacked batch, `query` those of every
/// row too, or, with `queries`, of only the first `queries.lengths[s]` positions of each sequence
/// (a last layer whose other outputs nobody reads); the biases are `[heads, d]`. The result has
/// one row per query. For each sequence and head (in parallel) the content term is one GEMM
/// against the keys and the position term one GEMM against the `2T − 1` sinusoid rows of the
/// distances that occur, read back along the diagonals. There is no mask: characters run at
/// their real length, and the 128 n-gram slots attend to each other, padding included, as the
/// reference does.
public func relativeAttention(query: Tensor, key: Tensor, value: Tensor, contentBias: Tensor, positionBias: Tensor,
                              segments: Segments, queries: Segments? = nil, positions: RelativePositions) -> Tensor {
    let (heads, headSize) = (contentBias.shape[0], contentBias.shape[1])
    let hidden = heads * headSize
    let queries = queries ?? segments
    precondition(key.shape == [segments.rowCount, hidden] && value.shape == key.shape && query.shape == [queries.rowCount, hidden],
                 "relativeAttention: projections \(query.shape), \(key.shape) do not fit \(queries.rowCount) and \(segments.rowCount) rows of \(hidden)")
    precondition(zip(queries.lengths, segments.lengths).allSatisfy { $0 <= $1 }, "relativeAttention: more queries than keys")
    var context = Tensor.uninitialized([queries.rowCount, hidden])   // every (sequence, head) block is written
    context.withUnsafeMutableBufferPointer { output in
    query.withUnsafeBufferPointer { q in
    key.withUnsafeBufferPointer { k in
    value.withUnsafeBufferPointer { v in
    contentBias.withUnsafeBufferPointer { contentBias in
    positionBias.withUnsafeBufferPointer { positionBias in
        let inputs = AttentionInputs(q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!,
                                     contentBias: contentBias.baseAddress!, positionBias: positionBias.baseAddress!,
                                     context: output.baseAddress!)
        parallelFor(segments.count * heads) { task in
            let (segment, head) = task.quotientAndRemainder(dividingBy: heads)
            attend(inputs, keys: segments.rows(segment), queries: queries.rows(segment), head: head, heads: heads,
                   headSize: headSize, positions: positions.table(length: segments.lengths[segment]))
        }
    }}}}}}
    return context
}

/// Raw pointers into the batch's projections and output, shared by the parallel tasks, each
/// of which reads and writes only its own rows and head columns.
private struct AttentionInputs: @unchecked Sendable {
    let q, k, v, contentBias, positionBias: UnsafePointer<Float>
    let context: UnsafeMutablePointer<Float>
}

/// One head of one sequence: `queries` are its first positions, `keys` all of them.
private func attend(_ inputs: AttentionInputs, keys: Range<Int>, queries: Range<Int>, head: Int, heads: Int, headSize: Int,
                    positions: Tensor) {
    let (length, count) = (keys.count, queries.count)
    guard count > 0 else { return }
    let hidden = heads * headSize
    let span = 2 * length - 1
    let (keyOffset, queryOffset) = (keys.lowerBound * hidden + head * headSize, queries.lowerBound * hidden + head * headSize)
    let scale = 1 / Float(headSize).squareRoot()
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * headSize + count * length + count * span)
    defer { scratch.deallocate() }
    let shiftedQuery = scratch, scores = scratch + count * headSize, position = scores + count * length
    let q = inputs.q + queryOffset, k = inputs.k + keyOffset, v = inputs.v + keyOffset

    func shift(by bias: UnsafePointer<Float>) {
        for row in 0..<count {
            for c in 0..<headSize { shiftedQuery[row * headSize + c] = q[row * hidden + c] + bias[c] }
        }
    }
    // (q + r_r_bias) · kᵀ
    shift(by: inputs.contentBias + head * headSize)
    BLAS.sgemm(transposeA: false, transposeB: true, m: count, n: length, k: headSize,
               a: shiftedQuery, lda: headSize, b: k, ldb: hidden, c: scores, ldc: length)
    // (q + r_w_bias) · R(p)ᵀ for every distance p, then score(i, j) takes p = j − i.
    shift(by: inputs.positionBias + head * headSize)
    positions.withUnsafeBufferPointer { r in
        BLAS.sgemm(transposeA: false, transposeB: true, m: count, n: span, k: headSize,
                   a: shiftedQuery, lda: headSize, b: r.baseAddress!, ldb: headSize, c: position, ldc: span)
    }
    for i in 0..<count {
        let diagonal = position + i * span + (length - 1 - i)
        let row = scores + i * length
        for j in 0..<length { row[j] = (row[j] + diagonal[j]) * scale }
    }
    softmaxRowsInPlace(scores, rows: count, columns: length)
    BLAS.sgemm(transposeA: false, transposeB: false, m: count, n: headSize, k: length,
               a: scores, lda: length, b: v, ldb: hidden, c: inputs.context + queryOffset, ldc: hidden)
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

    /// `[2T − 1, d]`, row r holding R(r − (T − 1)).
    public func table(length: Int) -> Tensor { tables[length]! }

    public static func table(length: Int, dimension: Int) -> Tensor {
        let half = dimension / 2
        let step = Float(log(10000.0) / Double(half - 1))
        let frequencies = (0..<half).map { expf(Float($0) * -step) }
        return Tensor(shape: [2 * length - 1, dimension]) { values in
            for row in 0..<(2 * length - 1) {
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
