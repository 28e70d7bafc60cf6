import ZenTensor

/// What a parameter is, which is all a new model needs to know to initialize it (BERT's rule).
public enum ParameterKind: Sendable {
    /// A projection weight, or a relative-attention bias: normal with `initializer_range`.
    case weight
    /// An embedding table: normal, its row 0 (padding) zero.
    case embedding
    /// A bias: zero.
    case bias
    /// A LayerNorm scale: one.
    case scale
}

/// Something that walks over every parameter of a network: loading, initialization, the
/// optimizer, saving and gradients all do it through `walkParameters`, each block's one list of
/// its parameters (canonical names, shapes and kinds).
public protocol ParameterVisitor {
    associatedtype Failure: Error = Never

    /// The parameter `name` (canonical: `encoder.layer.0.output.dense.weight`) of `shape`, to
    /// read, replace or update in place.
    mutating func visit(_ name: String, shape: [Int], kind: ParameterKind, _ tensor: inout Tensor) throws(Failure)

    /// The arithmetic the visited projections use from now on, when the visitor sets it (a
    /// loader); nil leaves them as they are.
    var packing: Precision? { get }

    /// A loader's embedding table `name` of `shape` as its checkpoint stores it, when it is to
    /// be read in place (a half-precision table, for bf16 or int8 inference); nil to visit it as
    /// a float32 tensor.
    mutating func storedTable(_ name: String, shape: [Int]) throws(Failure) -> TensorData?
}

extension ParameterVisitor {
    public var packing: Precision? { nil }

    public mutating func storedTable(_ name: String, shape: [Int]) throws(Failure) -> TensorData? { nil }
}

/// A network part whose parameters can be walked.
public protocol ParameterWalkable {
    mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure)
}

extension ParameterWalkable {
    /// Visits every parameter with `body`, which may change it in place.
    public mutating func updateParameters(_ body: (String, inout Tensor) -> Void) {
        withoutActuallyEscaping(body) { body in
            var visitor = ClosureVisitor(body: body)
            walkParameters(&visitor)
        }
    }

    /// Every parameter, under its canonical name, in walking order.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        var copy = self
        var parameters: [(name: String, tensor: Tensor)] = []
        copy.updateParameters { name, tensor in parameters.append((name, tensor)) }
        return parameters
    }
}

private struct ClosureVisitor: ParameterVisitor {
    let body: (String, inout Tensor) -> Void
    mutating func visit(_ name: String, shape: [Int], kind: ParameterKind, _ tensor: inout Tensor) { body(name, &tensor) }
}

/// A new model's parameters, drawn as BERT draws them (see `ParameterKind`) from one seeded
/// generator, in walking order.
public struct RandomParameters: ParameterVisitor {
    var generator: SplitMix64
    let standardDeviation: Float

    public init(seed: UInt64, standardDeviation: Double) {
        generator = SplitMix64(seed: seed)
        self.standardDeviation = Float(standardDeviation)
    }

    public mutating func visit(_ name: String, shape: [Int], kind: ParameterKind, _ tensor: inout Tensor) {
        switch kind {
        case .weight:
            tensor = Tensor.normal(shape, standardDeviation: standardDeviation, using: &generator)
        case .embedding:
            tensor = Tensor.normal(shape, standardDeviation: standardDeviation, using: &generator)
            let width = shape.dropFirst().reduce(1, *)
            tensor.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: width) }
        case .bias:
            tensor = Tensor(zeros: shape)
        case .scale:
            tensor = Tensor(shape: shape, scalars: [Float](repeating: 1, count: shape.reduce(1, *)))
        }
    }
}

extension Tensor {
    /// What a block holds before its parameters are walked in.
    static let unset = Tensor(zeros: [0])
}
