import ZenTensor

/// `torch.nn.Linear`: `y = x · Wᵀ + b`, weight `[out, in]`; with `.bf16` or `.int8` precision
/// the weight is packed in that format instead and the product runs on the engine's kernel for it.
package struct Linear: Sendable, ParameterWalkable {
    /// The parameters' common prefix, e.g. `encoder.layer.0.intermediate.dense`.
    package let name: String
    package let inputs: Int
    package let outputs: Int
    package var weight = Tensor.unset
    package var bias = Tensor.unset
    private(set) var packed: PackedWeight?

    package init(_ name: String, inputs: Int, outputs: Int) {
        (self.name, self.inputs, self.outputs) = (name, inputs, outputs)
    }

    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try visitor.visit(name + ".weight", shape: [outputs, inputs], kind: .weight, &weight)
        try visitor.visit(name + ".bias", shape: [outputs], kind: .bias, &bias)
        if let precision = visitor.packing { pack(precision) }
    }

    /// Takes `weight` and packs it for `precision` (the MLM decoder shares the word embeddings).
    package mutating func use(weight: Tensor, precision: Precision) {
        self.weight = weight
        pack(precision)
    }

    /// Packed, the weight is read only through `packed` (bf16 and int8 are for inference;
    /// training runs in fp32): the float32 copy is let go, which for an fp16 checkpoint widened
    /// at load is twice the file's size.
    private mutating func pack(_ precision: Precision) {
        guard let format = precision.weightFormat else { return }
        packed = PackedWeight(weight, format: format)
        weight = .unset
    }

    /// `x · Wᵀ + b`, plus `residual` when given (added by the GEMM, not by a pass of its own).
    package func callAsFunction(_ x: Tensor, residual: Tensor? = nil) -> Tensor {
        if let packed { return linear(x, weight: packed, bias: bias, residual: residual) }
        return linear(x, weight: weight, bias: bias, residual: residual)
    }

    /// `x · Wᵀ + b + residual`, as a BERT block's output projection computes it: in training,
    /// `dropout` applies to the projection before the residual is added; without dropout the
    /// GEMM adds the residual itself.
    func callAsFunction(_ x: Tensor, residual: Tensor, dropout: Dropout?) -> Tensor {
        guard let dropout else { return self(x, residual: residual) }
        return dropout.apply(self(x)) + residual
    }
}

/// `torch.nn.LayerNorm` over the hidden dimension.
package struct LayerNorm: Sendable, ParameterWalkable {
    package let name: String
    package let width: Int
    package let eps: Float
    package var weight = Tensor.unset
    package var bias = Tensor.unset

    package init(_ name: String, width: Int, eps: Float) {
        (self.name, self.width, self.eps) = (name, width, eps)
    }

    package mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try visitor.visit(name + ".weight", shape: [width], kind: .scale, &weight)
        try visitor.visit(name + ".bias", shape: [width], kind: .bias, &bias)
    }

    /// Normalizes `x`, in place when nothing else holds it.
    package func callAsFunction(_ x: consuming Tensor) -> Tensor {
        layerNormInPlace(&x, weight: weight, bias: bias, eps: eps)
        return x
    }
}
