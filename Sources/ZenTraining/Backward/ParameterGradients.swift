import ZenModel
import ZenTensor

/// Gradients of the loss by canonical parameter name (`encoder.layer.0.output.dense.weight`),
/// added to as the backward pass goes, and across the micro-batches of one optimizer step.
public struct ParameterGradients: Sendable {
    public private(set) var tensors: [String: Tensor] = [:]

    public init() {}

    public subscript(name: String) -> Tensor? { tensors[name] }

    /// Runs `body` on the gradient of `name` (zeros of `shape` the first time), in place.
    mutating func update<R>(_ name: String, shape: [Int], _ body: (inout Tensor) -> R) -> R {
        var gradient = tensors.removeValue(forKey: name) ?? Tensor(zeros: shape)
        defer { tensors[name] = gradient }
        return body(&gradient)
    }

    mutating func update<R>(_ weight: String, shape weightShape: [Int], _ bias: String, shape biasShape: [Int],
                            _ body: (inout Tensor, inout Tensor) -> R) -> R {
        var w = tensors.removeValue(forKey: weight) ?? Tensor(zeros: weightShape)
        var b = tensors.removeValue(forKey: bias) ?? Tensor(zeros: biasShape)
        defer { (tensors[weight], tensors[bias]) = (w, b) }
        return body(&w, &b)
    }

    /// A zero gradient for every parameter of `part` that has none yet: what a part that did not
    /// run still gets, so that AdamW moves and decays it as torch does a parameter whose
    /// gradient is zero.
    mutating func touch(_ part: some ParameterWalkable) {
        var part = part
        var visitor = Touching(gradients: self)
        part.walkParameters(&visitor)
        self = visitor.gradients
    }

    private struct Touching: ParameterVisitor {
        var gradients: ParameterGradients
        mutating func visit(_ name: String, shape: [Int], kind: ParameterKind, _ tensor: inout Tensor) {
            gradients.update(name, shape: shape) { _ in }
        }
    }

    /// The Euclidean norm of all gradients together (what gradient clipping limits).
    public var norm: Double {
        tensors.values.reduce(0.0) { total, tensor in
            tensor.withUnsafeBufferPointer { values in
                // Each part summed on its own thread, then the parts in order.
                let parts = values.count < 1 << 16 ? 1 : ComputeThreads.count
                let size = (values.count + parts - 1) / parts
                var sums = [Double](repeating: 0, count: parts)
                sums.withUnsafeMutableBufferPointer { sums in
                    let (sums, values) = (UnsafeSendablePointer(sums.baseAddress!), UnsafeSendablePointer(UnsafeMutablePointer(mutating: values.baseAddress!)))
                    let count = tensor.count
                    parallelFor(parts) { part in
                        var sum = 0.0
                        for i in (part * size)..<min(count, (part + 1) * size) { sum += Double(values.pointer[i]) * Double(values.pointer[i]) }
                        sums.pointer[part] = sum
                    }
                }
                return total + sums.reduce(0, +)
            }
        }.squareRoot()
    }

    /// Multiplies every gradient by `factor`.
    public mutating func scale(by factor: Float) {
        for name in tensors.keys {
            update(name, shape: []) { gradient in
                let count = gradient.count
                gradient.withUnsafeMutableBufferPointer { values in
                    let values = UnsafeSendablePointer(values.baseAddress!)
                    parallelRanges(count, grain: 1 << 16) { range in
                        for i in range { values.pointer[i] *= factor }
                    }
                }
            }
        }
    }
}
