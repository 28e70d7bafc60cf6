import Foundation
import Testing
@testable import ZenModel
import ZenTensor

/// Checkpoints assembled from zen2-tiny-base's tensors: extra heads, missing and misshapen tensors.
@Suite struct CheckpointVariantTests {
    static let base = ModelFixtures.path("zen2-tiny-base")

    /// A model directory with zen2-tiny-base's text files and `tensors` as its weights.
    func directory(_ tensors: [(name: String, data: TensorData)]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("variant-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in ["config.json", "vocab.txt", "ngram.txt"] {
            try FileManager.default.copyItem(atPath: Self.base + "/" + file, toPath: directory + "/" + file)
        }
        try SafeTensors.write(tensors, to: directory + "/model.safetensors")
        return directory
    }

    func baseTensors() throws -> [(name: String, data: TensorData)] {
        try SafeTensors.read(Self.base + "/model.safetensors").map { (name: $0.key, data: $0.value) }
    }

    func tensor(_ values: [Float], shape: [Int]) -> TensorData {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: values.count * 4, alignment: 4)
        values.withUnsafeBytes { bytes.copyMemory(from: $0) }
        return TensorData(dtype: .float32, shape: shape, bytes: UnsafeRawBufferPointer(bytes), owner: Deallocator(bytes))
    }

    final class Deallocator {
        let bytes: UnsafeMutableRawBufferPointer
        init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }
        deinit { bytes.deallocate() }
    }

    @Test func spanHeadIsALinearMapOfTheSequenceOutput() throws {
        let hidden = 64
        let weight = (0..<(2 * hidden)).map { Float($0 % 7) / 10 - 0.3 }
        let path = try directory(try baseTensors() + [("qa_outputs.weight", tensor(weight, shape: [2, hidden])),
                                                      ("qa_outputs.bias", tensor([0.5, -0.5], shape: [2]))])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try ZenModel(directory: path)
        let spans = try model.spanLogits("北京是中国的首都", pair: "首都在哪里", maxSeqLength: 64)
        let states = try model.encode(model.featureBuilder(maxSeqLength: 64).sequenceFeatures(text: "北京是中国的首都", pair: "首都在哪里")).sequence
        #expect(spans.tokens.count == states.shape[0])
        for row in 0..<states.shape[0] {
            let x = states.row(row)
            let start = zip(x, weight[..<hidden]).reduce(0.5) { $0 + $1.0 * $1.1 }
            let end = zip(x, weight[hidden...]).reduce(-0.5) { $0 + $1.0 * $1.1 }
            #expect(abs(spans.start[row] - start) < 1e-4 && abs(spans.end[row] - end) < 1e-4)
        }
    }

    @Test func missingOrMisshapenTensorsAreNamed() throws {
        let tensors = try baseTensors()
        let name = "encoder.layer.1.attention.self.r_w_bias"
        let missing = try directory(tensors.filter { $0.name != name })
        defer { try? FileManager.default.removeItem(atPath: missing) }
        #expect(throws: CheckpointError.missingTensor(name: name, path: missing + "/model.safetensors")) {
            try ZenModel(directory: missing)
        }
        let misshapen = try directory(tensors.map { $0.name == name ? ($0.name, tensor([Float](repeating: 0, count: 64), shape: [64])) : $0 })
        defer { try? FileManager.default.removeItem(atPath: misshapen) }
        #expect(throws: CheckpointError.shapeMismatch(name: name, expected: [4, 16], found: [64], path: misshapen + "/model.safetensors")) {
            try ZenModel(directory: misshapen)
        }
    }

    @Test func float32WeightsAreUsedInPlace() throws {
        let store = try WeightStore(directory: Self.base)
        #expect(try store.tensor("encoder.layer.0.attention.self.query.weight", shape: [64, 64]).isBorrowed)
    }

    @Test func aDirectoryWithoutWeights() throws {
        let path = try directory([])
        try FileManager.default.removeItem(atPath: path + "/model.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CheckpointError.noWeights(directory: path)) { try ZenModel(directory: path) }
    }
}

extension CheckpointVariantTests {
    /// A classifier without a pooler used to pass the head check and then trap (in the server,
    /// the process died): the pooler is optional and a sequence classifier needs it, by name.
    @Test func aClassifierWithoutAPoolerIsANamedError() throws {
        let hidden = 64
        let tensors = try baseTensors().filter { !$0.name.contains("pooler.") }
            + [("classifier.weight", tensor([Float](repeating: 0.1, count: 3 * hidden), shape: [3, hidden])),
               ("classifier.bias", tensor([0, 0, 0], shape: [3]))]
        let path = try directory(tensors)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try ZenModel(directory: path)
        #expect(model.servedTasks == [.embed])
        #expect(throws: ModelError.missingHead(task: "sequence classification", tensor: "pooler.dense.weight")) {
            try model.classify(["你好"])
        }
        let output = try model.embed(["你好"])[0]
        #expect(output.pooled == nil)
        #expect(throws: ModelError.self) { try output.pooled(by: .pooler) }
        #expect(try output.pooled(by: .cls).count == hidden)
    }

    /// A config whose layer counts are not the weights' is refused before anything is sized by
    /// them (issue 13: `num_hidden_layers: 1099511627776` aborted allocating the layers).
    @Test(arguments: [1_099_511_627_776, 3])
    func layerCountsMustBeTheWeights(_ layers: Int) throws {
        let path = try directory(try baseTensors())
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/config.json"))) as! [String: Any]
        let held = config["num_hidden_layers"] as! Int
        config["num_hidden_layers"] = layers
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path + "/config.json"))
        #expect(throws: CheckpointError.invalidConfig(path: path + "/config.json", reason: "num_hidden_layers is \(layers), but \(path)/model.safetensors "
            + "holds \(held) such layers; the config does not belong to these weights")) { try ZenModel(directory: path) }
    }

    /// The walk is the one list of parameters: loading visits every tensor a checkpoint holds
    /// (but the buffers the reference saves beside them), and a new model built from a random
    /// source has the same names, shapes and BERT's initialization.
    @Test(arguments: ["zen2-tiny-base", "zen2-tiny-cls", "zen2-tiny-ner", "zen2-tiny-mlm"])
    func theWalkCoversEveryCheckpointTensor(_ name: String) throws {
        let model = try ZenModel(directory: ModelFixtures.path(name))
        var (encoder, heads) = (model.encoder, model.heads)
        let walked = encoder.namedParameters + heads.namedParameters
        let stored = try WeightStore(directory: ModelFixtures.path(name)).names.filter { !$0.contains("position_embedding") }
        #expect(walked.map(\.name).sorted() == stored)

        var random = RandomParameters(seed: 7, standardDeviation: 0.02)
        var fresh = ZenEncoder(config: model.config, pooler: encoder.pooler != nil)
        fresh.walkParameters(&random)
        let new = fresh.namedParameters
        #expect(new.map(\.name) == encoder.namedParameters.map(\.name))
        #expect(new.map(\.tensor.shape) == encoder.namedParameters.map(\.tensor.shape))
        let table = try #require(new.first { $0.name == "embeddings.word_embeddings.weight" }?.tensor)
        #expect(table.row(0).allSatisfy { $0 == 0 } && table.row(1).contains { $0 != 0 })
        #expect(new.first { $0.name.hasSuffix("LayerNorm.weight") }?.tensor.scalars.allSatisfy { $0 == 1 } == true)
        #expect(new.filter { $0.name.hasSuffix(".bias") }.allSatisfy { $0.tensor.scalars.allSatisfy { $0 == 0 } })
    }
}

extension CheckpointVariantTests {
    /// A checkpoint holding both `bert.X` and `X` loaded one or the other, differently from run
    /// to run (issue 13, item 5): it is refused, naming both.
    @Test func twoNamesOfOneParameterAreRefused() throws {
        let tensors = try baseTensors()
        let (name, data) = try #require(tensors.first { $0.name == "encoder.layer.0.output.LayerNorm.weight" })
        for other in ["bert." + name, "bert.encoder.layer.0.output.LayerNorm.gamma", "encoder.layer.0.output.LayerNorm.gamma"] {
            let path = try directory(tensors + [(other, data)])
            defer { try? FileManager.default.removeItem(atPath: path) }
            let (first, second) = name < other ? (name, other) : (other, name)
            #expect(throws: CheckpointError.ambiguousNames(first, second, parameter: name, path: path + "/model.safetensors")) {
                try ZenModel(directory: path)
            }
        }
    }

    /// NaN or infinite weights gave `"logits": [null, …]` with exit 0 (issue 13, item 5): the
    /// load is refused, naming the tensor as the file stores it and the first bad element.
    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteWeightsAreRefusedNamingTheTensor(_ value: Float) throws {
        let name = "encoder.layer.1.intermediate.dense.weight"
        let tensors = try baseTensors().map { tensor in
            guard tensor.name == name else { return tensor }
            var values = tensor.data.floats()
            values[1234] = value
            return (name: "bert." + name, data: self.tensor(values, shape: tensor.data.shape))
        }
        let path = try directory(tensors)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CheckpointError.nonFinite(name: "bert." + name, element: 1234, path: path + "/model.safetensors")) {
            try ZenModel(directory: path)
        }
    }

    @Test func nonFiniteHalvesAreRefusedToo() throws {
        let halves: [UInt16] = [0x3C00, 0x7C00, 0x3C00, 0x3C00]                // 1, inf, 1, 1
        let store = try halves.withUnsafeBytes { bytes in
            try WeightStore(path: "half.bin", tensors: ["w": TensorData(dtype: .float16, shape: [4], bytes: bytes, owner: NSObject())])
        }
        #expect(throws: CheckpointError.nonFinite(name: "w", element: 1, path: "half.bin")) { try store.tensor("w", shape: [4]) }
    }

    /// Every size in config.json is checked against the weights before it sizes anything: an
    /// absurd value is an error naming config.json and the field, never an allocation or a trap.
    @Test(arguments: ["hidden_size", "vocab_size", "word_size", "intermediate_size", "num_attention_heads", "type_vocab_size",
                      "num_labels", "num_hidden_word_layers"])
    func absurdConfigSizesNameTheField(_ key: String) throws {
        let classifier = [("classifier.weight", tensor([Float](repeating: 0.1, count: 3 * 64), shape: [3, 64])),
                          ("classifier.bias", tensor([0, 0, 0], shape: [3]))]
        let path = try directory(try baseTensors() + classifier)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configPath = path + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        for value: Any in [1 << 40, 1 << 62, 8, 18_446_744_073_709_551_615 as UInt64, 1e30] {
            config[key] = value
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
            do {
                _ = try ZenModel(directory: path)
                Issue.record("\(key) \(value) was accepted")
            } catch let error as CheckpointError {
                #expect(error.description.hasPrefix(configPath + ": ") && error.description.contains(key), "\(error)")
            }
        }
    }

    /// A FIFO in place of any file of a model directory hung the loader forever (issue 13,
    /// item 8): it is refused at once, naming the file.
    @Test(arguments: ["model.safetensors", "pytorch_model.bin", "config.json", "vocab.txt", "ngram.txt"])
    func aFIFOInAModelDirectoryIsRefused(_ file: String) throws {
        let path = try directory(try baseTensors())
        defer { try? FileManager.default.removeItem(atPath: path) }
        if file == "pytorch_model.bin" { try FileManager.default.removeItem(atPath: path + "/model.safetensors") }
        try? FileManager.default.removeItem(atPath: path + "/" + file)
        #expect(mkfifo(path + "/" + file, 0o600) == 0)
        let outcome = withDeadline(seconds: 30) { () -> String in
            do {
                _ = try ZenModel(directory: path)
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        guard let outcome else {
            // Unblock the abandoned reader, so that it does not outlive the test.
            let writer = open(path + "/" + file, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            Issue.record("loading a model whose \(file) is a FIFO did not return within 30 s")
            return
        }
        #expect(outcome == "cannot read \(path)/\(file): it is a named pipe (FIFO), not a regular file; "
            + "a model directory's files must be regular files")
    }
}
