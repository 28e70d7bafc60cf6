import ZenTensor

/// `torch.nn.Linear`: `y = x · Wᵀ + b`, weight `[out, in]`; with `.bf16` precision the weight
/// is also packed to bfloat16 and the product runs on the bfloat16 GEMM.
struct Linear: Sendable {
    /// The parameters' common prefix, e.g. `encoder.layer.0.intermediate.dense`.
    let name: String
    var weight: Tensor
    var bias: Tensor
    let packed: BF16Weight?

    init(_ store: WeightStore, _ prefix: String, inputs: Int, outputs: Int) throws(CheckpointError) {
        self.init(name: prefix, weight: try store.tensor(prefix + ".weight", shape: [outputs, inputs]),
                  bias: try store.tensor(prefix + ".bias", shape: [outputs]), precision: store.precision)
    }

    /// A linear map whose weight lives elsewhere (the MLM decoder shares the word embeddings).
    init(name: String, weight: Tensor, bias: Tensor, precision: Precision) {
        self.name = name
        self.weight = weight
        self.bias = bias
        packed = precision == .bf16 ? BF16Weight(weight) : nil
    }

    /// `x · Wᵀ + b`, plus `residual` when given (added by the GEMM, not by a pass of its own).
    func callAsFunction(_ x: Tensor, residual: Tensor? = nil) -> Tensor {
        if let packed { return linear(x, weight: packed, bias: bias, residual: residual) }
        return linear(x, weight: weight, bias: bias, residual: residual)
    }
}

/// `torch.nn.LayerNorm` over the hidden dimension.
struct LayerNorm: Sendable {
    let name: String
    var weight: Tensor
    var bias: Tensor
    let eps: Float

    init(_ store: WeightStore, _ prefix: String, width: Int, eps: Float) throws(CheckpointError) {
        name = prefix
        weight = try store.tensor(prefix + ".weight", shape: [width])
        bias = try store.tensor(prefix + ".bias", shape: [width])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }

    /// Normalizes a tensor that nothing else holds, in place.
    func callAsFunction(consuming x: consuming Tensor) -> Tensor {
        layerNormInPlace(&x, weight: weight, bias: bias, eps: eps)
        return x
    }
}
