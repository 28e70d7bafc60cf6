import Foundation
import ZenTensor

/// `torch.optim.AdamW`: decoupled weight decay (`p ← p · (1 − lr · wd)`), then the bias-corrected
/// Adam step, in float32 with the corrections in double, as PyTorch computes them; the
/// reference's parameters without decay (`Optimizer.decays`).
public struct AdamW: Optimizer {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Double
    /// Optimizer steps taken.
    public private(set) var steps = 0
    /// The running averages of each parameter's gradient and squared gradient, by name.
    public private(set) var firstMoments: [String: Tensor] = [:]
    public private(set) var secondMoments: [String: Tensor] = [:]

    public init(weightDecay: Double) {
        self.weightDecay = weightDecay
    }

    /// An optimizer resumed from a saved state.
    public init(weightDecay: Double, steps: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.weightDecay = weightDecay
        (self.steps, self.firstMoments, self.secondMoments) = (steps, firstMoments, secondMoments)
    }

    public mutating func step(gradients: [String: Tensor], learningRate: Double,
                              parameters: (_ update: (String, inout Tensor) -> Void) -> Void) {
        steps += 1
        let correction1 = 1 - pow(beta1, Double(steps))
        let correction2 = Float((1 - pow(beta2, Double(steps))).squareRoot())
        let stepSize = Float(learningRate / correction1)
        let (b1, b2, epsilon, weightDecay) = (Float(beta1), Float(beta2), epsilon, weightDecay)
        parameters { name, parameter in
            guard let gradient = gradients[name] else { return }
            precondition(parameter.shape == gradient.shape, "AdamW: gradient of \(name) has shape \(gradient.shape), not \(parameter.shape)")
            var m = firstMoments.removeValue(forKey: name) ?? Tensor(zeros: parameter.shape)
            var v = secondMoments.removeValue(forKey: name) ?? Tensor(zeros: parameter.shape)
            let decay = Self.decays(name) ? Float(1 - learningRate * weightDecay) : 1
            parameter.withUnsafeMutableBufferPointer { p in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        gradient.withUnsafeBufferPointer { g in
                            let (p, m, v) = (UnsafeSendablePointer(p.baseAddress!), UnsafeSendablePointer(m.baseAddress!), UnsafeSendablePointer(v.baseAddress!))
                            let g = UnsafeSendablePointer(UnsafeMutablePointer(mutating: g.baseAddress!))
                            parallelRanges(gradient.count, grain: 1 << 15) { range in
                                for i in range {
                                    p.pointer[i] *= decay
                                    m.pointer[i] += (g.pointer[i] - m.pointer[i]) * (1 - b1)
                                    v.pointer[i] = v.pointer[i] * b2 + g.pointer[i] * g.pointer[i] * (1 - b2)
                                    p.pointer[i] -= stepSize * m.pointer[i] / (v.pointer[i].squareRoot() / correction2 + epsilon)
                                }
                            }
                        }
                    }
                }
            }
            firstMoments[name] = m
            secondMoments[name] = v
        }
    }
}
