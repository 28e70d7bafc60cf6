import Foundation
import ZenTensor

/// The arithmetic of the projections: exact float32 (the default); bfloat16 weights and inputs
/// with float32 accumulation (about 2 significant digits per product); or int8 weights (per
/// output channel) and inputs (per row, at run time) with int32 accumulation. The last two are
/// opt-in; the attention stays float32 in all three.
public enum Precision: String, Sendable, CaseIterable {
    case fp32, bf16, int8

    /// The packed weights' format; nil for float32, whose projections use the weights as loaded.
    var weightFormat: WeightFormat? {
        switch self {
        case .fp32: nil
        case .bf16: .bf16
        case .int8: .int8
        }
    }
}

/// The tensors of a checkpoint under canonical names, checked against the config as they are taken.
///
/// Canonical names are the reference's without the `bert.` prefix of the encoder
/// (`embeddings.word_embeddings.weight`, `encoder.layer.0.…`) and with LayerNorm parameters named
/// `weight`/`bias`; heads keep their names (`classifier.weight`, `cls.predictions.bias`). So a
/// bare encoder, a model with heads, and the old `gamma`/`beta` naming all load the same way; a
/// checkpoint that holds two names of one parameter (`bert.X` and `X`) is refused, since either
/// could be meant.
public struct WeightStore: @unchecked Sendable, ParameterVisitor {
    public let path: String
    /// The arithmetic the model built from these weights will use.
    public var precision: Precision = .fp32
    private var tensors: [String: TensorData] = [:]
    /// The name each tensor has in the file, by canonical name: errors name what the file holds.
    private var storedNames: [String: String] = [:]

    /// Reads `model.safetensors` from `directory` if present, else `pytorch_model.bin`.
    public init(directory: String) throws(CheckpointError) {
        let safetensors = directory + "/model.safetensors"
        let torch = directory + "/pytorch_model.bin"
        if FileManager.default.fileExists(atPath: safetensors) {
            try self.init(path: safetensors, tensors: SafeTensors.read(safetensors))
        } else if FileManager.default.fileExists(atPath: torch) {
            try self.init(path: torch, tensors: TorchCheckpoint.read(torch))
        } else {
            throw .noWeights(directory: directory)
        }
    }

    /// Reads a `.safetensors` file, or any other file as a `torch.save` checkpoint.
    public init(file path: String) throws(CheckpointError) {
        try self.init(path: path, tensors: path.hasSuffix(".safetensors") ? SafeTensors.read(path) : TorchCheckpoint.read(path))
    }

    init(path: String, tensors raw: [String: TensorData]) throws(CheckpointError) {
        self.path = path
        // In name order, so that the error names the same pair first every time.
        for (name, data) in raw.sorted(by: { $0.key < $1.key }) {
            let canonical = Self.canonicalName(name)
            if let other = storedNames[canonical] { throw .ambiguousNames(other, name, parameter: canonical, path: path) }
            tensors[canonical] = data
            storedNames[canonical] = name
        }
    }

    static func canonicalName(_ name: String) -> String {
        var name = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
        if name.hasSuffix("LayerNorm.gamma") { name = String(name.dropLast(5)) + "weight" }
        if name.hasSuffix("LayerNorm.beta") { name = String(name.dropLast(4)) + "bias" }
        return name
    }

    /// The reference's name of a canonical one: the encoder's tensors under `bert.`, heads as they are.
    public static func referenceName(_ canonical: String) -> String {
        let heads = ["classifier.", "cls.", "qa_outputs."]
        return heads.contains { canonical.hasPrefix($0) } ? canonical : "bert." + canonical
    }

    /// Every tensor under its canonical name.
    public var names: [String] { tensors.keys.sorted() }

    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    public func data(_ name: String) -> TensorData? { tensors[name] }

    /// The config is the weights': every count and size that shapes the network is checked
    /// against the tensors before the network is built, since a value that lies
    /// (`num_hidden_layers: 1099511627776`, `hidden_size: 1e15`) would size it. A tensor that is
    /// missing is left to the loading walk to name.
    public func check(_ config: ZenConfig, configPath: String) throws(CheckpointError) {
        func mismatch(_ key: String, _ value: Int, _ held: String) -> CheckpointError {
            .invalidConfig(path: configPath, reason: "\(key) is \(value), but \(path) holds \(held); the config does not belong to these weights")
        }
        for (key, prefix, count) in [("num_hidden_layers", "encoder.layer.", config.numHiddenLayers),
                                     ("num_hidden_word_layers", "encoder.word_layers.", config.numHiddenWordLayers)] {
            let held = Set(tensors.keys.compactMap { name in
                name.hasPrefix(prefix) ? Int(name.dropFirst(prefix.count).prefix { $0 != "." }) : nil
            }).count
            guard held == count else { throw mismatch(key, count, "\(held) such layers") }
        }
        var sizes: [(key: String, value: Int, tensor: String, axis: Int)] = [
            ("vocab_size", config.vocabSize, "embeddings.word_embeddings.weight", 0),
            ("hidden_size", config.hiddenSize, "embeddings.word_embeddings.weight", 1),
            ("type_vocab_size", config.typeVocabSize, "embeddings.token_type_embeddings.weight", 0),
            ("word_size", config.wordSize, "word_embeddings.word_embeddings.weight", 0),
            ("num_attention_heads", config.numAttentionHeads, "encoder.layer.0.attention.self.r_r_bias", 0),
            ("intermediate_size", config.intermediateSize, "encoder.layer.0.intermediate.dense.weight", 0),
        ]
        if let numLabels = config.numLabels { sizes.append(("num_labels", numLabels, "classifier.weight", 0)) }
        for (key, value, name, axis) in sizes {
            guard let shape = tensors[name]?.shape, axis < shape.count, shape[axis] != value else { continue }
            throw mismatch(key, value, "\(storedNames[name] ?? name) of shape \(shape)")
        }
    }

    /// Loading: each parameter is the tensor of its name, packed for `precision`.
    public func visit(_ name: String, shape: [Int], kind: ParameterKind, _ tensor: inout Tensor) throws(CheckpointError) {
        tensor = try self.tensor(name, shape: shape)
    }

    public var packing: Precision? { precision }

    /// Half-precision tables stay as stored when the projections are packed (bf16, int8); the
    /// pages the checks read are let go, to come back as lookups read their rows.
    public func storedTable(_ name: String, shape: [Int]) throws(CheckpointError) -> TensorData? {
        guard precision != .fp32, let data = tensors[name], data.dtype == .float16 || data.dtype == .bfloat16 else { return nil }
        defer { (data.owner as? MappedFile)?.release(data.bytes) }
        return try checked(name, shape: shape)
    }

    /// The tensor `name`, which must have `shape` and finite values: float32 used in place, other
    /// types converted (and their pages in the file let go).
    public func tensor(_ name: String, shape: [Int]) throws(CheckpointError) -> Tensor {
        let data = try checked(name, shape: shape)
        if data.dtype == .float32, let base = data.bytes.baseAddress,
           Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return Tensor(shape: shape, borrowing: base.assumingMemoryBound(to: Float.self), owner: data.owner)
        }
        defer { (data.owner as? MappedFile)?.release(data.bytes) }
        return Tensor(shape: shape) { data.writeFloats(into: $0) }
    }

    /// The tensor `name` as stored, which must have `shape` and finite values. A NaN or an
    /// infinity would only come out as `null` logits, so it is refused here, naming the tensor
    /// (unless the reader's own pass found none).
    private func checked(_ name: String, shape: [Int]) throws(CheckpointError) -> TensorData {
        guard let data = tensors[name] else { throw .missingTensor(name: name, path: path) }
        guard data.shape == shape else { throw .shapeMismatch(name: name, expected: shape, found: data.shape, path: path) }
        if !data.knownFinite, let element = firstNonFinite(data.bytes, as: data.dtype) {
            throw .nonFinite(name: storedNames[name] ?? name, element: element, path: path)
        }
        return data
    }
}
