import Foundation

/// The backward passes of the element-wise and projection operations in `Operations.swift`.
///
/// Each takes the gradient of the loss with respect to the operation's output (`outputGradient`)
/// and what the forward pass saw, returns the gradient with respect to the input, and adds the
/// gradients of parameters onto tensors the caller owns (`+=`, so that a batch split into
/// micro-batches accumulates).

/// Backward of `linear`: `dx = dy · W`, `dW += dyᵀ · x`, `db += Σ_rows dy`. Both products are
/// split over the compute threads (`dW` by output rows, `dx` by input rows), as the GEMM engine itself
/// runs single-threaded.
public func linearBackward(_ outputGradient: Tensor, input x: Tensor, weight: Tensor,
                           weightGradient: inout Tensor, biasGradient: inout Tensor, needsInputGradient: Bool = true) -> Tensor? {
    let (rows, inputs, outputs) = (x.shape[0], x.shape[1], weight.shape[0])
    precondition(outputGradient.shape == [rows, outputs] && weightGradient.shape == weight.shape && biasGradient.count == outputs,
                 "linearBackward: gradient \(outputGradient.shape) does not fit input \(x.shape) and weight \(weight.shape)")
    var inputGradient = needsInputGradient ? Tensor.uninitialized([rows, inputs]) : nil
    outputGradient.withUnsafeBufferPointer { dy in
    x.withUnsafeBufferPointer { x in
    weight.withUnsafeBufferPointer { w in
    weightGradient.withUnsafeMutableBufferPointer { dw in
    biasGradient.withUnsafeMutableBufferPointer { db in
        let (dy, x, w) = (shared(dy), shared(x), shared(w))
        let (dw, db) = (UnsafeSendablePointer(dw.baseAddress!), UnsafeSendablePointer(db.baseAddress!))
        parallelRanges(outputs, grain: 32) { columns in
            GEMM.sgemm(transposeA: true, transposeB: false, m: columns.count, n: inputs, k: rows,
                       a: dy.pointer + columns.lowerBound, lda: outputs, b: x.pointer, ldb: inputs,
                       beta: 1, c: dw.pointer + columns.lowerBound * inputs, ldc: inputs)
            for row in 0..<rows {
                let g = dy.pointer + row * outputs
                for column in columns { db.pointer[column] += g[column] }
            }
        }
        guard inputGradient != nil else { return }
        inputGradient!.withUnsafeMutableBufferPointer { dx in
            let dx = UnsafeSendablePointer(dx.baseAddress!)
            parallelRanges(rows, grain: 16) { part in
                GEMM.sgemm(transposeA: false, transposeB: false, m: part.count, n: inputs, k: outputs,
                           a: dy.pointer + part.lowerBound * outputs, lda: outputs, b: w.pointer, ldb: inputs,
                           c: dx.pointer + part.lowerBound * inputs, ldc: inputs)
            }
        }
    }}}}}
    return inputGradient
}

/// Backward of `layerNorm` from its input `x`: with `x̂ = (x − mean) · rstd` and `g = dy · γ`,
/// `dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))`, `dγ += Σ dy · x̂`, `dβ += Σ dy`.
public func layerNormBackward(_ outputGradient: Tensor, input x: Tensor, weight: Tensor, eps: Float,
                              weightGradient: inout Tensor, biasGradient: inout Tensor) -> Tensor {
    let width = x.shape[x.rank - 1]
    let rows = x.count / max(width, 1)
    precondition(outputGradient.shape == x.shape, "layerNormBackward: gradient \(outputGradient.shape) is not \(x.shape)")
    let parts = rows < 64 ? 1 : ComputeThreads.count
    // Each part sums its own rows' parameter gradients; the parts are added at the end.
    var partial = [Float](repeating: 0, count: parts * 2 * width)
    var inputGradient = Tensor.uninitialized(x.shape)
    outputGradient.withUnsafeBufferPointer { dy in
    x.withUnsafeBufferPointer { x in
    weight.withUnsafeBufferPointer { gamma in
    inputGradient.withUnsafeMutableBufferPointer { dx in
    partial.withUnsafeMutableBufferPointer { partial in
        let (dy, x, gamma) = (shared(dy), shared(x), shared(gamma))
        let (dx, partial) = (UnsafeSendablePointer(dx.baseAddress!), UnsafeSendablePointer(partial.baseAddress!))
        let size = (rows + parts - 1) / parts
        parallelFor(parts) { part in
            let dGamma = partial.pointer + part * 2 * width, dBeta = dGamma + width
            let normalized = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { normalized.deallocate() }
            for row in min(rows, part * size)..<min(rows, (part + 1) * size) {
                let (v, g, out) = (x.pointer + row * width, dy.pointer + row * width, dx.pointer + row * width)
                var sum: Float = 0
                for i in 0..<width { sum += v[i] }
                let mean = sum / Float(width)
                var squares: Float = 0
                for i in 0..<width { let c = v[i] - mean; squares += c * c }
                let rstd = 1 / (squares / Float(width) + eps).squareRoot()
                var (meanG, meanGX) = (Float(0), Float(0))
                for i in 0..<width {
                    normalized[i] = (v[i] - mean) * rstd
                    let scaled = g[i] * gamma.pointer[i]
                    meanG += scaled
                    meanGX += scaled * normalized[i]
                    dGamma[i] += g[i] * normalized[i]
                    dBeta[i] += g[i]
                }
                meanG /= Float(width)
                meanGX /= Float(width)
                for i in 0..<width { out[i] = rstd * (g[i] * gamma.pointer[i] - meanG - normalized[i] * meanGX) }
            }
        }
    }}}}}
    weightGradient.withUnsafeMutableBufferPointer { dGamma in
        biasGradient.withUnsafeMutableBufferPointer { dBeta in
            for part in 0..<parts {
                for i in 0..<width {
                    dGamma[i] += partial[part * 2 * width + i]
                    dBeta[i] += partial[part * 2 * width + width + i]
                }
            }
        }
    }
    return inputGradient
}

/// Backward of `gelu` from its input: `dx = dy · (Φ(x) + x · φ(x))`, Φ and φ the standard normal
/// distribution and density, with the same erf and exp as the forward pass.
public func geluBackward(_ outputGradient: Tensor, input x: Tensor) -> Tensor {
    precondition(outputGradient.shape == x.shape, "geluBackward: gradient \(outputGradient.shape) is not \(x.shape)")
    var result = outputGradient
    result.withUnsafeMutableBufferPointer { dy in
        x.withUnsafeBufferPointer { x in
            let (dy, x, count) = (UnsafeSendablePointer(dy.baseAddress!), shared(x), outputGradient.count)
            parallelRanges(count / 16, grain: 1024) { vectors in
                for vector in vectors {
                    let (input, gradient) = (UnsafeRawPointer(x.pointer + vector * 16), UnsafeMutableRawPointer(dy.pointer + vector * 16))
                    let product = gradient.loadUnaligned(as: SIMD16<Float>.self) * geluDerivativeLanes(input.loadUnaligned(as: SIMD16<Float>.self))
                    gradient.storeBytes(of: product, as: SIMD16<Float>.self)
                }
            }
            for index in (count / 16 * 16)..<count {
                var lane = SIMD16<Float>(repeating: 0)
                lane[0] = x.pointer[index]
                dy.pointer[index] *= geluDerivativeLanes(lane)[0]
            }
        }
    }
    return result
}

@inline(__always)
func geluDerivativeLanes(_ x: SIMD16<Float>) -> SIMD16<Float> {
    typealias V = SIMD16<Float>
    let cdf = 0.5 * (1 + erfLanes(x * V(repeating: 0.70710678118654752)))
    let density = V(repeating: 0.39894228040143268) * expNonPositive(-(x * x) * 0.5)
    return cdf + x * density
}

/// Backward of `tanh` from its output `y`: `dx = dy · (1 − y²)`.
public func tanhBackward(_ outputGradient: Tensor, output y: Tensor) -> Tensor {
    precondition(outputGradient.shape == y.shape, "tanhBackward: gradient \(outputGradient.shape) is not \(y.shape)")
    var result = outputGradient
    result.withUnsafeMutableBufferPointer { dy in
        y.withUnsafeBufferPointer { y in
            for i in dy.indices { dy[i] *= 1 - y[i] * y[i] }
        }
    }
    return result
}

/// Backward of `gather`: adds each row of `outputGradient` to the row of `tableGradient` it was
/// read from (rows read twice get both), except to `paddingIndex`, whose row stays fixed as in
/// `torch.nn.Embedding(padding_idx:)`.
public func gatherBackward(_ outputGradient: Tensor, rows indices: [Int32], tableGradient: inout Tensor, paddingIndex: Int32? = nil) {
    let width = tableGradient.shape[1]
    precondition(outputGradient.shape == [indices.count, width], "gatherBackward: gradient \(outputGradient.shape) does not fit \(indices.count) rows of \(width)")
    outputGradient.withUnsafeBufferPointer { dy in
        tableGradient.withUnsafeMutableBufferPointer { table in
            for (row, index) in indices.enumerated() where index != paddingIndex {
                let (target, source) = (table.baseAddress! + Int(index) * width, dy.baseAddress! + row * width)
                for i in 0..<width { target[i] += source[i] }
            }
        }
    }
}

/// Mean cross-entropy of the softmax of `logits` `[rows, classes]` against `targets`, over the
/// rows whose target is not nil, and its gradient with respect to the logits (zero on the
/// rows left out) times `gradientScale`. With `labelSmoothing` ε the target of each row is
/// `(1 - ε) · onehot + ε / classes`, as in torch's `CrossEntropyLoss(label_smoothing=ε)`.
public func crossEntropy(logits: Tensor, targets: [Int?], labelSmoothing: Float = 0,
                         gradientScale: Float = 1) -> (loss: Double, gradient: Tensor) {
    let (rows, classes) = (logits.shape[0], logits.shape[1])
    precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows")
    precondition((0..<1).contains(labelSmoothing), "crossEntropy: label smoothing \(labelSmoothing) is not in [0, 1)")
    let counted = targets.compactMap { $0 }.count
    let (spread, epsilon) = (labelSmoothing / Float(classes), Double(labelSmoothing))
    for case let target? in targets { precondition(target >= 0 && target < classes, "crossEntropy: target \(target) outside \(classes) classes") }
    var gradient = Tensor(zeros: logits.shape)
    // Rows in parallel (the masked-language-model head has rows of the whole vocabulary), each
    // part's loss summed on its own, then the parts in order.
    let parts = rows * classes < 1 << 16 ? 1 : min(rows, ComputeThreads.count)
    var losses = [Double](repeating: 0, count: max(parts, 1))
    logits.withUnsafeBufferPointer { logits in
    gradient.withUnsafeMutableBufferPointer { gradient in
    losses.withUnsafeMutableBufferPointer { losses in
        let (logits, gradient) = (UnsafeSendablePointer(UnsafeMutablePointer(mutating: logits.baseAddress!)), UnsafeSendablePointer(gradient.baseAddress!))
        let losses = UnsafeSendablePointer(losses.baseAddress!)
        let size = (rows + max(parts, 1) - 1) / max(parts, 1)
        parallelFor(parts) { part in
            var loss = 0.0
            for row in (part * size)..<min(rows, (part + 1) * size) {
                guard let target = targets[row] else { continue }
                let (z, g) = (logits.pointer + row * classes, gradient.pointer + row * classes)
                g.update(from: z, count: classes)
                // The rows' losses add up in double: the loss is reported, and summed over many rows.
                let logSum = Double(softmaxInPlace(g, count: classes))
                var meanLogit = 0.0
                if epsilon > 0 {
                    for c in 0..<classes { meanLogit += Double(z[c]) }
                    meanLogit /= Double(classes)
                }
                loss += (1 - epsilon) * (logSum - Double(z[target])) + epsilon * (logSum - meanLogit)
                g[target] -= 1 - labelSmoothing
                for c in 0..<classes { g[c] = (g[c] - spread) * gradientScale / Float(counted) }
            }
            losses.pointer[part] = loss
        }
    }}}
    return (counted == 0 ? 0 : losses.reduce(0, +) / Double(counted), gradient)
}

/// Inverted dropout with a counter-based mask: whether element `index` of stream `stream` is
/// dropped is a hash of (seed, stream, index), so the backward pass recomputes the mask instead
/// of storing it, and parallel tasks draw without sharing a generator.
public struct Dropout: Sendable {
    public let probability: Float
    public let seed: UInt64

    public init(probability: Float, seed: UInt64) {
        precondition((0..<1).contains(probability), "dropout probability \(probability) is not in [0, 1)")
        self.probability = probability
        self.seed = seed
    }

    /// The same dropout with another seed derived from this one: one per layer and step.
    public func substream(_ stream: UInt64) -> Dropout {
        Dropout(probability: probability, seed: Self.mix(seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)))
    }

    /// Zeroes dropped elements of `values` (counted from `offset` in the stream) and scales the
    /// others by `1 / (1 − p)`. Applying it to a gradient is its backward pass.
    public func apply(_ values: UnsafeMutablePointer<Float>, count: Int, offset: Int = 0) {
        guard probability > 0 else { return }
        // One hash decides four elements, 16 bits each: a probability resolution of 1/65536.
        let threshold = UInt64((Double(probability) * 65536).rounded())
        let scale = 1 / (1 - probability)
        var i = 0
        while i < count {
            let (group, lane) = (offset + i).quotientAndRemainder(dividingBy: 4)
            var bits = Self.mix(seed &+ UInt64(group)) >> (16 * UInt64(lane))
            for _ in lane..<min(4, lane + count - i) {
                values[i] = bits & 0xFFFF < threshold ? 0 : values[i] * scale
                bits >>= 16
                i += 1
            }
        }
    }

    public func apply(_ x: consuming Tensor) -> Tensor {
        guard probability > 0 else { return x }
        x.withUnsafeMutableBufferPointer { values in
            let (base, count) = (UnsafeSendablePointer(values.baseAddress!), values.count)
            parallelRanges(count, grain: 1 << 16) { range in
                apply(base.pointer + range.lowerBound, count: range.count, offset: range.lowerBound)
            }
        }
        return x
    }

    /// SplitMix64's finalizer: a bijective 64-bit mix with full avalanche.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A read-only buffer's base as a pointer that parallel tasks may share.
@inline(__always)
func shared(_ buffer: UnsafeBufferPointer<Float>) -> UnsafeSendablePointer<Float> {
    UnsafeSendablePointer(UnsafeMutablePointer(mutating: buffer.baseAddress!))
}
