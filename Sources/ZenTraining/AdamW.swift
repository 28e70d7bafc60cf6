import Foundation
import ZenTensor

/// `torch.optim.AdamW`: decoupled weight decay (`p ← p · (1 − lr · wd)`), then the bias-corrected
/// Adam step, in float32 with the corrections in double, as PyTorch computes them. Parameters
/// whose name contains `bias`, `LayerNorm.weight` or `LayerNorm.bias` are not decayed (the
/// reference's rule, which also spares `r_r_bias` and `r_w_bias`).
public struct AdamW: Sendable {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Double
    /// Optimizer steps taken.
    public private(set) var steps = 0
    private var firstMoments: [String: Tensor] = [:]
    private var secondMoments: [String: Tensor] = [:]

    public init(weightDecay: Double) {
        self.weightDecay = weightDecay
    }

    public static func decays(_ name: String) -> Bool {
        !(name.contains("bias") || name.contains("LayerNorm.weight") || name.contains("LayerNorm.bias"))
    }

    /// One step over every parameter that has a gradient, at `learningRate`.
    public mutating func step(_ parameters: inout [String: Tensor], gradients: [String: Tensor], learningRate: Double) {
        steps += 1
        let correction1 = 1 - pow(beta1, Double(steps))
        let correction2 = (1 - pow(beta2, Double(steps))).squareRoot()
        let stepSize = Float(learningRate / correction1)
        let (b1, b2) = (Float(beta1), Float(beta2))
        for (name, gradient) in gradients {
            guard var parameter = parameters[name] else { continue }
            precondition(parameter.shape == gradient.shape, "AdamW: gradient of \(name) has shape \(gradient.shape), not \(parameter.shape)")
            var m = firstMoments[name] ?? Tensor(zeros: parameter.shape)
            var v = secondMoments[name] ?? Tensor(zeros: parameter.shape)
            let decay = Self.decays(name) ? Float(1 - learningRate * weightDecay) : 1
            let (epsilon, correction2) = (epsilon, Float(correction2))
            parameter.withUnsafeMutableBufferPointer { p in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        gradient.withUnsafeBufferPointer { g in
                            for i in p.indices {
                                p[i] *= decay
                                m[i] += (g[i] - m[i]) * (1 - b1)
                                v[i] = v[i] * b2 + g[i] * g[i] * (1 - b2)
                                p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2 + epsilon)
                            }
                        }
                    }
                }
            }
            parameters[name] = parameter
            firstMoments[name] = m
            secondMoments[name] = v
        }
    }
}
