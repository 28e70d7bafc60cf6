import ZenTensor

/// `torch.nn.Linear`: `y = x · Wᵀ + b`, weight `[out, in]`.
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor

    init(_ store: WeightStore, _ prefix: String, inputs: Int, outputs: Int) throws(CheckpointError) {
        weight = try store.tensor(prefix + ".weight", shape: [outputs, inputs])
        bias = try store.tensor(prefix + ".bias", shape: [outputs])
    }

    /// A linear map whose weight lives elsewhere (the MLM decoder shares the word embeddings).
    init(weight: Tensor, bias: Tensor) {
        self.weight = weight
        self.bias = bias
    }

    func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

/// `torch.nn.LayerNorm` over the hidden dimension.
struct LayerNorm: Sendable {
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    init(_ store: WeightStore, _ prefix: String, width: Int, eps: Float) throws(CheckpointError) {
        weight = try store.tensor(prefix + ".weight", shape: [width])
        bias = try store.tensor(prefix + ".bias", shape: [width])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}
