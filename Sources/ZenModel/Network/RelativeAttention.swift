import Foundation
import ZenTensor

/// Transformer-XL style self-attention with relative sinusoidal positions, as in every ZEN 2.0
/// layer (spec section 5). For query i, key j and each head:
///
///     score(i, j) = ((q_i + r_r_bias) · k_j + (q_i + r_w_bias) · R(j − i)) / √d
///
/// The content term is one GEMM per head against the keys; the position term is one GEMM per
/// head against the `2T − 1` sinusoid rows of the relative distances that occur, read back along
/// the diagonals. There is no mask: characters run at their real length, and the 128 n-gram slots
/// attend to each other, padding included, as the reference does.
struct RelativeAttention: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    /// `[heads, d]`; goes with the content term (the reference's naming, kept).
    let contentBias: Tensor
    /// `[heads, d]`; goes with the position term.
    let positionBias: Tensor
    let heads: Int
    let headSize: Int

    init(_ store: WeightStore, _ prefix: String, config: ZenConfig) throws(CheckpointError) {
        let hidden = config.hiddenSize
        heads = config.numAttentionHeads
        headSize = config.headSize
        query = try Linear(store, prefix + ".query", inputs: hidden, outputs: hidden)
        key = try Linear(store, prefix + ".key", inputs: hidden, outputs: hidden)
        value = try Linear(store, prefix + ".value", inputs: hidden, outputs: hidden)
        contentBias = try store.tensor(prefix + ".r_r_bias", shape: [heads, headSize])
        positionBias = try store.tensor(prefix + ".r_w_bias", shape: [heads, headSize])
    }

    /// The context vectors `[T, H]` of `x` `[T, H]`, before the output projection.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let length = x.shape[0]
        let hidden = heads * headSize
        let q = query(x), k = key(x), v = value(x)
        let positions = RelativePositions.table(length: length, dimension: headSize)   // [2T-1, d], row r: R(r - (T-1))
        let span = 2 * length - 1
        let scale = 1 / Float(headSize).squareRoot()
        var context = Tensor(zeros: [length, hidden])
        var shiftedQuery = [Float](repeating: 0, count: length * headSize)
        var content = [Float](repeating: 0, count: length * length)
        var position = [Float](repeating: 0, count: length * span)

        q.withUnsafeBufferPointer { q in
        k.withUnsafeBufferPointer { k in
        v.withUnsafeBufferPointer { v in
        positions.withUnsafeBufferPointer { r in
        contentBias.withUnsafeBufferPointer { contentBias in
        positionBias.withUnsafeBufferPointer { positionBias in
        context.withUnsafeMutableBufferPointer { context in
            for head in 0..<heads {
                let offset = head * headSize
                // (q + r_r_bias) · kᵀ
                addBias(q.baseAddress! + offset, stride: hidden, bias: contentBias.baseAddress! + offset, into: &shiftedQuery, rows: length)
                BLAS.sgemm(transposeA: false, transposeB: true, m: length, n: length, k: headSize,
                           a: shiftedQuery, lda: headSize, b: k.baseAddress! + offset, ldb: hidden,
                           c: &content, ldc: length)
                // (q + r_w_bias) · R(p)ᵀ for every distance p, then score(i, j) takes p = j - i.
                addBias(q.baseAddress! + offset, stride: hidden, bias: positionBias.baseAddress! + offset, into: &shiftedQuery, rows: length)
                BLAS.sgemm(transposeA: false, transposeB: true, m: length, n: span, k: headSize,
                           a: shiftedQuery, lda: headSize, b: r.baseAddress!, ldb: headSize,
                           c: &position, ldc: span)
                content.withUnsafeMutableBufferPointer { scores in
                    position.withUnsafeBufferPointer { position in
                        for i in 0..<length {
                            let diagonal = position.baseAddress! + i * span + (length - 1 - i)
                            let row = scores.baseAddress! + i * length
                            for j in 0..<length { row[j] = (row[j] + diagonal[j]) * scale }
                        }
                    }
                    softmaxRowsInPlace(scores.baseAddress!, rows: length, columns: length)
                    BLAS.sgemm(transposeA: false, transposeB: false, m: length, n: headSize, k: length,
                               a: scores.baseAddress!, lda: length, b: v.baseAddress! + offset, ldb: hidden,
                               c: context.baseAddress! + offset, ldc: hidden)
                }
            }
        }}}}}}}
        return context
    }

    /// `target[i] = q[i, head] + bias` for every row: one head's queries, contiguous.
    private func addBias(_ q: UnsafePointer<Float>, stride: Int, bias: UnsafePointer<Float>,
                         into target: inout [Float], rows: Int) {
        target.withUnsafeMutableBufferPointer { target in
            for row in 0..<rows {
                for c in 0..<headSize { target[row * headSize + c] = q[row * stride + c] + bias[c] }
            }
        }
    }
}

/// The relative sinusoid `R(p) = [sin(p·w_0) … sin(p·w_{d/2−1}), cos(p·w_0) … cos(p·w_{d/2−1})]`,
/// `w_m = exp(−m · ln(10000) / (d/2 − 1))`, computed in float32 as the reference's table is.
enum RelativePositions {
    /// Rows for p = −(length − 1) … length − 1.
    static func table(length: Int, dimension: Int) -> Tensor {
        let half = dimension / 2
        let step = Float(log(10000.0) / Double(half - 1))
        let frequencies = (0..<half).map { expf(Float($0) * -step) }
        var table = Tensor(zeros: [2 * length - 1, dimension])
        table.withUnsafeMutableBufferPointer { values in
            for row in 0..<(2 * length - 1) {
                let p = Float(row - (length - 1))
                for m in 0..<half {
                    let angle = p * frequencies[m]
                    values[row * dimension + m] = sinf(angle)
                    values[row * dimension + half + m] = cosf(angle)
                }
            }
        }
        return table
    }
}
