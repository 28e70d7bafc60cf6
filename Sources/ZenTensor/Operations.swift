import Foundation

/// The operations of a BERT-style encoder on rank-2 `[rows, features]` tensors.
///
/// Each returns a new tensor; in-place variants (`…InPlace`) exist where a layer can reuse its
/// input. Products go to BLAS; the element-wise kernels are plain loops the compiler vectorizes.

/// `x · Wᵀ + b` with PyTorch's `[out, in]` weight layout: `[rows, in]` to `[rows, out]`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1],
                 "linear: input \(x.shape) does not fit weight \(weight.shape)")
    let (rows, outputs) = (x.shape[0], weight.shape[0])
    var result = Tensor(zeros: [rows, outputs])
    result.withUnsafeMutableBufferPointer { y in
        if let bias {
            precondition(bias.count == outputs, "linear: bias \(bias.shape) does not fit weight \(weight.shape)")
            bias.withUnsafeBufferPointer { b in
                for row in 0..<rows { (y.baseAddress! + row * outputs).update(from: b.baseAddress!, count: outputs) }
            }
        }
        x.withUnsafeBufferPointer { a in
            weight.withUnsafeBufferPointer { w in
                BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: outputs, k: x.shape[1],
                           a: a.baseAddress!, lda: x.shape[1], b: w.baseAddress!, ldb: weight.shape[1],
                           beta: bias == nil ? 0 : 1, c: y.baseAddress!, ldc: outputs)
            }
        }
    }
    return result
}

/// LayerNorm over the last dimension: `(x − mean) / sqrt(var + eps) · weight + bias`, with the
/// biased variance, as `torch.nn.LayerNorm`.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    var result = x
    layerNormInPlace(&result, weight: weight, bias: bias, eps: eps)
    return result
}

public func layerNormInPlace(_ x: inout Tensor, weight: Tensor, bias: Tensor, eps: Float) {
    let width = x.shape[x.rank - 1]
    precondition(weight.count == width && bias.count == width, "layerNorm: parameters do not fit \(x.shape)")
    let rows = x.count / max(width, 1)
    weight.withUnsafeBufferPointer { gamma in
        bias.withUnsafeBufferPointer { beta in
            x.withUnsafeMutableBufferPointer { values in
                for row in 0..<rows {
                    let v = values.baseAddress! + row * width
                    var sum: Float = 0
                    for i in 0..<width { sum += v[i] }
                    let mean = sum / Float(width)
                    var squares: Float = 0
                    for i in 0..<width { let c = v[i] - mean; squares += c * c }
                    let scale = 1 / (squares / Float(width) + eps).squareRoot()
                    for i in 0..<width { v[i] = (v[i] - mean) * scale * gamma[i] + beta[i] }
                }
            }
        }
    }
}

/// The exact GELU, `x · ½ · (1 + erf(x / √2))`.
public func gelu(_ x: Tensor) -> Tensor {
    var result = x
    result.withUnsafeMutableBufferPointer { values in
        for i in values.indices { values[i] = values[i] * 0.5 * (1 + erff(values[i] * 0.70710678118654752)) }
    }
    return result
}

public func tanh(_ x: Tensor) -> Tensor {
    var result = x
    result.withUnsafeMutableBufferPointer { values in
        for i in values.indices { values[i] = tanhf(values[i]) }
    }
    return result
}

/// Softmax of each row, in place, shifted by the row maximum for stability.
public func softmaxRowsInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
    for row in 0..<rows {
        let v = x + row * columns
        var maximum = -Float.infinity
        for i in 0..<columns { maximum = max(maximum, v[i]) }
        var sum: Float = 0
        for i in 0..<columns { v[i] = expf(v[i] - maximum); sum += v[i] }
        let inverse = 1 / sum
        for i in 0..<columns { v[i] *= inverse }
    }
}

/// Element-wise sum of two tensors of the same shape.
public func + (lhs: Tensor, rhs: Tensor) -> Tensor {
    precondition(lhs.shape == rhs.shape, "add: shapes \(lhs.shape) and \(rhs.shape) differ")
    var result = lhs
    result.withUnsafeMutableBufferPointer { a in
        rhs.withUnsafeBufferPointer { b in
            for i in a.indices { a[i] += b[i] }
        }
    }
    return result
}

/// Rows of `table` (`[entries, width]`) picked by `indices`: an embedding lookup.
public func gather(_ table: Tensor, rows indices: [Int32]) -> Tensor {
    let width = table.shape[1]
    var result = Tensor(zeros: [indices.count, width])
    table.withUnsafeBufferPointer { source in
        result.withUnsafeMutableBufferPointer { target in
            for (row, index) in indices.enumerated() {
                precondition(index >= 0 && Int(index) < table.shape[0], "gather: row \(index) of \(table.shape[0])")
                (target.baseAddress! + row * width).update(from: source.baseAddress! + Int(index) * width, count: width)
            }
        }
    }
    return result
}
