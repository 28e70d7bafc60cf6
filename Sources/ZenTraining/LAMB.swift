import Foundation
import ZenTensor

/// LAMB as apex's `FusedLAMB` computes it with its defaults, which is what the reference
/// pre-trains with (spec section 7). At step t, for each parameter tensor p with gradient g:
///
///     m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²
///     u = (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)  (+ wd·p where p decays)
///     p ← p − lr · r · u,  r = ‖p‖ / ‖u‖ where p decays (1 when either norm is 0), else 1
///
/// The trust ratio r scales each tensor's step to its own size, which is what lets large
/// batches train at large rates. The gradient's global norm is clipped by the caller
/// (`clip_grad_norm_(…, 1.0)`); FusedLAMB's own clip at 1.0 then changes nothing.
public struct LAMB: Optimizer {
    public var beta1: Double = 0.9
    /// 0.999: the reference computes 0.98 for global batches over 256 but never passes it.
    public var beta2: Double = 0.999
    public var epsilon: Float = 1e-6
    public var weightDecay: Double
    public private(set) var steps = 0
    public private(set) var firstMoments: [String: Tensor] = [:]
    public private(set) var secondMoments: [String: Tensor] = [:]

    public init(weightDecay: Double = 0.01) {
        self.weightDecay = weightDecay
    }

    public init(weightDecay: Double, steps: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.weightDecay = weightDecay
        (self.steps, self.firstMoments, self.secondMoments) = (steps, firstMoments, secondMoments)
    }

    public mutating func step(gradients: [String: Tensor], learningRate: Double,
                              parameters: (_ update: (String, inout Tensor) -> Void) -> Void) {
        steps += 1
        let correction1 = Float(1 - pow(beta1, Double(steps)))
        let correction2 = Float((1 - pow(beta2, Double(steps))).squareRoot())
        let (b1, b2, epsilon) = (Float(beta1), Float(beta2), epsilon)
        parameters { name, parameter in
            guard let gradient = gradients[name] else { return }
            precondition(parameter.shape == gradient.shape, "LAMB: gradient of \(name) has shape \(gradient.shape), not \(parameter.shape)")
            var m = firstMoments.removeValue(forKey: name) ?? Tensor(zeros: parameter.shape)
            var v = secondMoments.removeValue(forKey: name) ?? Tensor(zeros: parameter.shape)
            let decay = Self.decays(name) ? Float(weightDecay) : 0
            var update = Tensor.uninitialized(parameter.shape)
            // First the moments and the update u, with both squared norms the trust ratio needs,
            // summed per part (in double) and then over the parts.
            let parts = gradient.count < 1 << 15 ? 1 : ComputeThreads.count
            var squares = [Double](repeating: 0, count: 2 * parts)
            parameter.withUnsafeBufferPointer { p in
            m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
            gradient.withUnsafeBufferPointer { g in
            update.withUnsafeMutableBufferPointer { u in
            squares.withUnsafeMutableBufferPointer { squares in
                let (p, g) = (UnsafeSendablePointer(UnsafeMutablePointer(mutating: p.baseAddress!)), UnsafeSendablePointer(UnsafeMutablePointer(mutating: g.baseAddress!)))
                let (m, v, u) = (UnsafeSendablePointer(m.baseAddress!), UnsafeSendablePointer(v.baseAddress!), UnsafeSendablePointer(u.baseAddress!))
                let sums = UnsafeSendablePointer(squares.baseAddress!)
                let (count, size) = (gradient.count, (gradient.count + parts - 1) / parts)
                parallelFor(parts) { part in
                    var (parameterSquares, updateSquares) = (0.0, 0.0)
                    for i in (part * size)..<min(count, (part + 1) * size) {
                        let gi = g.pointer[i], pi = p.pointer[i]
                        m.pointer[i] = b1 * m.pointer[i] + (1 - b1) * gi
                        v.pointer[i] = b2 * v.pointer[i] + (1 - b2) * gi * gi
                        let ui = (m.pointer[i] / correction1) / (v.pointer[i].squareRoot() / correction2 + epsilon) + decay * pi
                        u.pointer[i] = ui
                        parameterSquares += Double(pi) * Double(pi)
                        updateSquares += Double(ui) * Double(ui)
                    }
                    (sums.pointer[2 * part], sums.pointer[2 * part + 1]) = (parameterSquares, updateSquares)
                }
            }}}}}}
            let parameterNorm = stride(from: 0, to: squares.count, by: 2).reduce(0.0) { $0 + squares[$1] }.squareRoot()
            let updateNorm = stride(from: 1, to: squares.count, by: 2).reduce(0.0) { $0 + squares[$1] }.squareRoot()
            let ratio = decay > 0 && parameterNorm > 0 && updateNorm > 0 ? parameterNorm / updateNorm : 1
            let stepSize = Float(learningRate * ratio)
            parameter.withUnsafeMutableBufferPointer { p in
                update.withUnsafeBufferPointer { u in
                    let (p, u) = (UnsafeSendablePointer(p.baseAddress!), UnsafeSendablePointer(UnsafeMutablePointer(mutating: u.baseAddress!)))
                    parallelRanges(update.count, grain: 1 << 15) { range in
                        for i in range { p.pointer[i] -= stepSize * u.pointer[i] }
                    }
                }
            }
            firstMoments[name] = m
            secondMoments[name] = v
        }
    }
}
