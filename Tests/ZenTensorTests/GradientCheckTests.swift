import Foundation
import Testing
@testable import ZenTensor

/// Each backward pass against central finite differences of its forward pass: for a random
/// projection `L = Σ w ∘ f(x)`, the analytic `∂L/∂x` (and parameter gradients) must agree with
/// `(L(x + h) − L(x − h)) / 2h` at every element, to 1% of the gradient's largest entry.
@Suite struct GradientCheckTests {
    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in generator.nextFloat() * scale })
    }

    /// `Σ w ∘ y` in double.
    static func project(_ y: Tensor, _ w: Tensor) -> Double {
        zip(y.scalars, w.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Checks `analytic` against finite differences of `loss` around `x`.
    static func check(_ name: String, _ x: Tensor, analytic: Tensor, step: Float = 1e-2, _ loss: (Tensor) -> Double) {
        #expect(analytic.shape == x.shape, "\(name): gradient shape \(analytic.shape)")
        let largest = analytic.scalars.map(abs).max() ?? 0
        var worst: Float = 0
        for index in 0..<x.count {
            var plus = x, minus = x
            plus.withUnsafeMutableBufferPointer { $0[index] += step }
            minus.withUnsafeMutableBufferPointer { $0[index] -= step }
            let numeric = Float((loss(plus) - loss(minus)) / Double(2 * step))
            worst = max(worst, abs(numeric - analytic.scalars[index]))
        }
        #expect(largest > 0, "\(name): the gradient is zero")
        #expect(worst <= 1e-2 * largest, "\(name): off by \(worst), largest entry \(largest)")
    }

    @Test func linear() {
        let (x, weight, bias) = (Self.random([5, 4], seed: 1), Self.random([3, 4], seed: 2), Self.random([3], seed: 3))
        let w = Self.random([5, 3], seed: 4)
        var (dWeight, dBias) = (Tensor(zeros: [3, 4]), Tensor(zeros: [3]))
        let dx = linearBackward(w, input: x, weight: weight, weightGradient: &dWeight, biasGradient: &dBias)!
        Self.check("linear x", x, analytic: dx) { Self.project(ZenTensor.linear($0, weight: weight, bias: bias), w) }
        Self.check("linear weight", weight, analytic: dWeight) { Self.project(ZenTensor.linear(x, weight: $0, bias: bias), w) }
        Self.check("linear bias", bias, analytic: dBias) { Self.project(ZenTensor.linear(x, weight: weight, bias: $0), w) }
    }

    @Test func layerNorm() {
        let (x, gamma, beta) = (Self.random([4, 6], seed: 5, scale: 2), Self.random([6], seed: 6), Self.random([6], seed: 7))
        let w = Self.random([4, 6], seed: 8)
        var (dGamma, dBeta) = (Tensor(zeros: [6]), Tensor(zeros: [6]))
        let dx = layerNormBackward(w, input: x, weight: gamma, eps: 1e-12, weightGradient: &dGamma, biasGradient: &dBeta)
        Self.check("layerNorm x", x, analytic: dx) { Self.project(ZenTensor.layerNorm($0, weight: gamma, bias: beta, eps: 1e-12), w) }
        Self.check("layerNorm weight", gamma, analytic: dGamma) { Self.project(ZenTensor.layerNorm(x, weight: $0, bias: beta, eps: 1e-12), w) }
        Self.check("layerNorm bias", beta, analytic: dBeta) { Self.project(ZenTensor.layerNorm(x, weight: gamma, bias: $0, eps: 1e-12), w) }
    }

    @Test func geluAndTanh() {
        let x = Self.random([3, 19], seed: 9, scale: 3)   // 57 values: SIMD lanes and a tail
        let w = Self.random([3, 19], seed: 10)
        Self.check("gelu", x, analytic: geluBackward(w, input: x)) { Self.project(gelu($0), w) }
        Self.check("tanh", x, analytic: tanhBackward(w, output: tanh(x))) { Self.project(tanh($0), w) }
    }

    @Test func gatherAndCrossEntropy() {
        let table = Self.random([5, 3], seed: 11)
        let ids: [Int32] = [2, 0, 2, 4]
        let w = Self.random([4, 3], seed: 12)
        var dTable = Tensor(zeros: [5, 3])
        gatherBackward(w, rows: ids, tableGradient: &dTable)
        Self.check("gather", table, analytic: dTable) { Self.project(gather($0, rows: ids), w) }
        var padded = Tensor(zeros: [5, 3])
        gatherBackward(w, rows: ids, tableGradient: &padded, paddingIndex: 0)
        #expect(padded.row(0) == [0, 0, 0] && padded.row(2) == dTable.row(2))

        let logits = Self.random([4, 5], seed: 13, scale: 3)
        let targets: [Int?] = [1, nil, 4, 0]
        let (_, gradient) = crossEntropy(logits: logits, targets: targets)
        Self.check("crossEntropy", logits, analytic: gradient, step: 1e-3) { crossEntropy(logits: $0, targets: targets).loss }
        #expect(gradient.row(1) == [0, 0, 0, 0, 0])

        // Label smoothing: the gradient still checks out, and the loss is torch's
        // (1 - ε) · CE + ε · mean over classes of -log p.
        let smoothed = crossEntropy(logits: logits, targets: targets, labelSmoothing: 0.2)
        Self.check("crossEntropy smoothed", logits, analytic: smoothed.gradient, step: 1e-3) {
            crossEntropy(logits: $0, targets: targets, labelSmoothing: 0.2).loss
        }
        let expected = targets.enumerated().compactMap { row, target -> Double? in
            guard let target else { return nil }
            let z = logits.row(row).map(Double.init)
            let logSum = log(z.map { exp($0) }.reduce(0, +))
            let negativeLogP = z.map { logSum - $0 }
            return 0.8 * negativeLogP[target] + 0.2 * negativeLogP.reduce(0, +) / Double(z.count)
        }.reduce(0, +) / 3
        // The log-sum-exp is float32's, as torch's is: a relative 1e-7 of the loss.
        #expect(abs(smoothed.loss - expected) < 1e-6)
    }

    /// Two sequences of different lengths, the second with fewer queries than keys, with and
    /// without dropout on the probabilities.
    @Test(arguments: [Float(0), 0.3])
    func relativeAttention(dropoutProbability: Float) {
        let (heads, headSize) = (2, 4)
        let hidden = heads * headSize
        let segments = Segments(lengths: [3, 5])
        let queries = Segments(lengths: [3, 2])
        let positions = RelativePositions(lengths: segments.lengths, dimension: headSize)
        let q = Self.random([queries.rowCount, hidden], seed: 14)
        let k = Self.random([segments.rowCount, hidden], seed: 15)
        let v = Self.random([segments.rowCount, hidden], seed: 16)
        let (rr, rw) = (Self.random([heads, headSize], seed: 17), Self.random([heads, headSize], seed: 18))
        let dropout = Dropout(probability: dropoutProbability, seed: 7)
        let w = Self.random([queries.rowCount, hidden], seed: 19)
        func loss(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ rr: Tensor, _ rw: Tensor) -> Double {
            Self.project(ZenTensor.relativeAttention(query: q, key: k, value: v, contentBias: rr, positionBias: rw, segments: segments,
                                                     queryRows: queries, positions: positions, dropout: dropout), w)
        }
        let d = relativeAttentionBackward(w, query: q, key: k, value: v, contentBias: rr, positionBias: rw, segments: segments,
                                          queryRows: queries, positions: positions, dropout: dropout)
        Self.check("attention query", q, analytic: d.query) { loss($0, k, v, rr, rw) }
        Self.check("attention key", k, analytic: d.key) { loss(q, $0, v, rr, rw) }
        Self.check("attention value", v, analytic: d.value) { loss(q, k, $0, rr, rw) }
        Self.check("attention content bias", rr, analytic: d.contentBias) { loss(q, k, v, $0, rw) }
        Self.check("attention position bias", rw, analytic: d.positionBias) { loss(q, k, v, rr, $0) }
    }

    @Test func dropoutReplaysItsMaskAndKeepsTheExpectation() {
        let dropout = Dropout(probability: 0.25, seed: 3)
        let ones = Tensor(shape: [100_000], scalars: [Float](repeating: 1, count: 100_000))
        let once = dropout.apply(ones)
        #expect(once == dropout.apply(ones))
        #expect(once != dropout.substream(1).apply(ones))
        let kept = once.scalars.filter { $0 != 0 }
        #expect(abs(Double(kept.count) / 100_000 - 0.75) < 0.01)
        #expect(kept.allSatisfy { $0 == 1 / 0.75 })
    }
}
