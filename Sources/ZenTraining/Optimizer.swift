import ZenTensor

/// An optimizer that keeps running averages of each parameter's gradient and squared gradient
/// (AdamW, LAMB): its whole state is the step count and those moments, which is what a
/// resumable checkpoint saves.
public protocol Optimizer: Sendable {
    var weightDecay: Double { get }
    /// Optimizer steps taken.
    var steps: Int { get }
    var firstMoments: [String: Tensor] { get }
    var secondMoments: [String: Tensor] { get }

    /// An optimizer resumed from a saved state.
    init(weightDecay: Double, steps: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor])

    /// One step at `learningRate` over every parameter that `parameters` visits and that has a
    /// gradient (the others, like torch's parameters without `.grad`, stay as they are).
    mutating func step(gradients: [String: Tensor], learningRate: Double, parameters: (_ update: (String, inout Tensor) -> Void) -> Void)
}

extension Optimizer {
    /// The reference's rule: no weight decay for parameters whose name contains `bias`,
    /// `LayerNorm.weight` or `LayerNorm.bias` (which also spares `r_r_bias` and `r_w_bias`).
    public static func decays(_ name: String) -> Bool {
        !(name.contains("bias") || name.contains("LayerNorm.weight") || name.contains("LayerNorm.bias"))
    }
}
