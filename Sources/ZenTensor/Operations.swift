import CZenKernels
import Foundation

/// Up to this many rows, projections skip the engine's sgemm for `zen_sgemm_nt_direct`: at
/// batch 1 a packing GEMM spent 14% of its time repacking weights that it then used for only 64
/// or 128 rows (measured against OpenBLAS on an AVX-512 EPYC).
let directGEMMRows = zen_has_avx512f() != 0 ? 160 : 0

/// The operations of a BERT-style encoder on rank-2 `[rows, features]` tensors.
///
/// Each returns a new tensor; in-place variants (`…InPlace`) exist where a layer can reuse its
/// input. Products go to the GEMM engine; the element-wise kernels are plain loops the compiler
/// vectorizes.

/// `x · Wᵀ + b (+ residual)` with PyTorch's `[out, in]` weight layout: `[rows, in]` to
/// `[rows, out]`. A residual (`[rows, out]`) is added by the GEMM itself, accumulating onto it.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor? = nil) -> Tensor {
    precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1],
                 "linear: input \(x.shape) does not fit weight \(weight.shape)")
    let (rows, inputs, outputs) = (x.shape[0], x.shape[1], weight.shape[0])
    let large = rows * inputs * outputs >= 1 << 21
    let parts = columnParts(outputs: outputs, alignment: 64, count: large ? ComputeThreads.count : 1)
    return x.withUnsafeBufferPointer { a in
        weight.withUnsafeBufferPointer { w in
            let a = UnsafeSendablePointer(UnsafeMutablePointer(mutating: a.baseAddress!))
            let w = UnsafeSendablePointer(UnsafeMutablePointer(mutating: w.baseAddress!))
            let direct = rows <= directGEMMRows
            return projection(rows: rows, outputs: outputs, parts: parts, parallel: large, bias: bias, residual: residual) { part, y in
                let columns = parts[part]
                if direct {
                    zen_sgemm_nt_direct(a.pointer, Int32(rows), Int32(inputs), Int32(inputs), w.pointer, Int32(inputs),
                                        Int32(columns.lowerBound), Int32(columns.upperBound), y, Int32(outputs))
                    return
                }
                GEMM.sgemm(transposeA: false, transposeB: true, m: rows, n: columns.count, k: inputs,
                           a: a.pointer, lda: inputs, b: w.pointer + columns.lowerBound * inputs, ldb: inputs,
                           beta: 1, c: y + columns.lowerBound, ldc: outputs)
            }
        }
    }
}

/// `outputs` columns cut into up to `count` contiguous parts of whole `alignment`-column blocks.
func columnParts(outputs: Int, alignment: Int, count: Int) -> [Range<Int>] {
    let blocks = (outputs + alignment - 1) / alignment
    let parts = max(1, min(count, blocks))
    let blocksPerPart = (blocks + parts - 1) / parts
    return (0..<parts).map { min(outputs, $0 * blocksPerPart * alignment)..<min(outputs, ($0 + 1) * blocksPerPart * alignment) }
        .filter { !$0.isEmpty }
}

/// The frame of every projection: `[rows, outputs]` holding `residual + bias`, onto which
/// `product(part, y)` accumulates the columns `parts[part]` of the product. The parts run on
/// the compute threads when `parallel`, so that each thread streams its own part of the weights
/// once.
func projection(rows: Int, outputs: Int, parts: [Range<Int>], parallel: Bool, bias: Tensor?, residual: Tensor?,
                _ product: @Sendable (Int, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
    if let bias { precondition(bias.count == outputs, "linear: bias \(bias.shape) does not fit \(outputs) outputs") }
    if let residual { precondition(residual.shape == [rows, outputs], "linear: residual \(residual.shape) is not [\(rows), \(outputs)]") }
    var result = residual ?? Tensor.uninitialized([rows, outputs])
    let setsFrame = residual == nil
    result.withUnsafeMutableBufferPointer { y in
        let y = UnsafeSendablePointer(y.baseAddress!)
        let b = bias?.withUnsafeBufferPointer { UnsafeSendablePointer(UnsafeMutablePointer(mutating: $0.baseAddress!)) }
        // One body for both ways of running the parts; a closure stored in a constant may not
        // capture the non-escaping `product` itself.
        withoutActuallyEscaping(product) { product in
            let part: @Sendable (Int) -> Void = { part in
                let columns = parts[part]
                for row in 0..<rows {
                    let target = y.pointer + row * outputs
                    switch (setsFrame, b) {
                    case (true, let b?): for column in columns { target[column] = b.pointer[column] }
                    case (true, nil): for column in columns { target[column] = 0 }
                    case (false, let b?): for column in columns { target[column] += b.pointer[column] }
                    case (false, nil): break
                    }
                }
                product(part, y.pointer)
            }
            if parallel { parallelFor(parts.count, part) } else { for index in parts.indices { part(index) } }
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
                let (values, gamma, beta) = (UnsafeSendablePointer(values.baseAddress!),
                                             UnsafeSendablePointer(UnsafeMutablePointer(mutating: gamma.baseAddress!)),
                                             UnsafeSendablePointer(UnsafeMutablePointer(mutating: beta.baseAddress!)))
                parallelRanges(rows, grain: 64) { rows in
                    for row in rows {
                        let v = values.pointer + row * width
                        var sum: Float = 0
                        for i in 0..<width { sum += v[i] }
                        let mean = sum / Float(width)
                        var squares: Float = 0
                        for i in 0..<width { let c = v[i] - mean; squares += c * c }
                        let scale = 1 / (squares / Float(width) + eps).squareRoot()
                        for i in 0..<width { v[i] = (v[i] - mean) * scale * gamma.pointer[i] + beta.pointer[i] }
                    }
                }
            }
        }
    }
}

/// GELU in its erf form, `x · ½ · (1 + erf(x / √2))` (not the tanh approximation).
///
/// erf is Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7) over a Cephes-style exp, in
/// 16-lane SIMD: libm's scalar `erff` made GELU a tenth of the forward pass.
public func gelu(_ x: consuming Tensor) -> Tensor {
    x.withUnsafeMutableBufferPointer { values in
        let base = UnsafeSendablePointer(values.baseAddress!)
        let vectors = values.count / 16
        parallelRanges(vectors, grain: 4096) { range in
            for vector in range {
                let raw = UnsafeMutableRawPointer(base.pointer + vector * 16)
                raw.storeBytes(of: geluLanes(raw.loadUnaligned(as: SIMD16<Float>.self)), as: SIMD16<Float>.self)
            }
        }
        for index in (vectors * 16)..<values.count {
            var tail = SIMD16<Float>(repeating: 0)
            tail[0] = values[index]
            values[index] = geluLanes(tail)[0]
        }
    }
    return x
}

@inline(__always)
func geluLanes(_ x: SIMD16<Float>) -> SIMD16<Float> {
    x * 0.5 * (1 + erfLanes(x * SIMD16<Float>(repeating: 0.70710678118654752)))
}

/// erf by Abramowitz & Stegun 7.1.26, odd-extended to negative arguments.
@inline(__always)
func erfLanes(_ z: SIMD16<Float>) -> SIMD16<Float> {
    typealias V = SIMD16<Float>
    let a = z.replacing(with: -z, where: z .< 0)
    let t = 1 / (1 + V(repeating: 0.3275911) * a)
    var polynomial = V(repeating: 1.061405429) * t - V(repeating: 1.453152027)
    polynomial = polynomial * t + V(repeating: 1.421413741)
    polynomial = polynomial * t - V(repeating: 0.284496736)
    polynomial = polynomial * t + V(repeating: 0.254829592)
    polynomial = polynomial * t
    let erfAbs = 1 - polynomial * expNonPositive(-(a * a))
    return erfAbs.replacing(with: -erfAbs, where: z .< 0)
}

/// e^x for x ≤ 0 (Cephes' expf: 2^n times a degree-6 polynomial on the reduced argument). n is
/// rounded and turned into exponent bits by adding 1.5 · 2²³, which keeps every step in SIMD
/// registers; Swift's generic float-to-integer vector conversion does not.
@inline(__always)
func expNonPositive(_ x: SIMD16<Float>) -> SIMD16<Float> {
    typealias V = SIMD16<Float>
    let shifter = V(repeating: 12_582_912)
    let clamped = x.replacing(with: -87.3, where: x .< -87.3)
    let biased = clamped * V(repeating: 1.44269504088896341) + shifter
    let n = biased - shifter
    let r = clamped - n * V(repeating: 0.693359375) + n * V(repeating: 2.12194440e-4)
    var p = V(repeating: 1.9875691500e-4) * r + V(repeating: 1.3981999507e-3)
    p = p * r + V(repeating: 8.3334519073e-3)
    p = p * r + V(repeating: 4.1665795894e-2)
    p = p * r + V(repeating: 1.6666665459e-1)
    p = p * r + V(repeating: 5.0000001201e-1)
    let polynomial = p * (r * r) + r + 1
    let integer = unsafeBitCast(biased, to: SIMD16<Int32>.self) &- unsafeBitCast(shifter, to: SIMD16<Int32>.self)
    return polynomial * unsafeBitCast((integer &+ 127) &<< 23, to: V.self)
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
    for row in 0..<rows { softmaxInPlace(x + row * columns, count: columns) }
}

/// The softmax of `count` scores, in place; returns their log-sum-exp (what a cross-entropy
/// subtracts the true score from).
@discardableResult
public func softmaxInPlace(_ v: UnsafeMutablePointer<Float>, count columns: Int) -> Float {
    let vectors = columns / 16
    var maximum = -Float.infinity
    for i in 0..<columns { maximum = max(maximum, v[i]) }
    // Every shifted score is ≤ 0: the SIMD exp of GELU applies.
    let shift = SIMD16<Float>(repeating: maximum)
    var sums = SIMD16<Float>(repeating: 0)
    for vector in 0..<vectors {
        let raw = UnsafeMutableRawPointer(v + vector * 16)
        let e = expNonPositive(raw.loadUnaligned(as: SIMD16<Float>.self) - shift)
        raw.storeBytes(of: e, as: SIMD16<Float>.self)
        sums += e
    }
    var sum = sums.sum()
    for i in (vectors * 16)..<columns {
        var lane = SIMD16<Float>(repeating: 0)
        lane[0] = v[i] - maximum
        v[i] = expNonPositive(lane)[0]
        sum += v[i]
    }
    let inverse = 1 / sum
    for i in 0..<columns { v[i] *= inverse }
    return maximum + log(sum)
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
    var result = Tensor.uninitialized([indices.count, width])
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
