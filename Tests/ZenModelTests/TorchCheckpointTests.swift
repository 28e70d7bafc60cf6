import Foundation
import Testing
@testable import ZenModel
import CZenKernels
import ZenTensor

@Suite struct TorchCheckpointTests {
    // MARK: The fixture checkpoints

    @Test func zipCheckpointEqualsItsSafetensorsTwin() throws {
        let tensors = try TorchCheckpoint.read(modelPath("zen2-tiny-base/pytorch_model.bin"))
        let reference = try safetensors(modelPath("zen2-tiny-base/model.safetensors"))
        #expect(tensors.count == 90)
        #expect(Set(tensors.keys) == Set(reference.keys))
        #expect(tensors["embeddings.word_embeddings.weight"]?.shape == [21075, 64])
        for (name, expected) in reference {
            let tensor = try #require(tensors[name])
            #expect(tensor.dtype.rawValue == expected.dtype, "\(name)")
            #expect(tensor.shape == expected.shape, "\(name)")
            #expect(Data(tensor.bytes) == expected.bytes, "\(name)")
        }
    }

    @Test func tensorsPointIntoTheMappedFile() throws {
        let tensors = try TorchCheckpoint.read(modelPath("zen2-tiny-cls/pytorch_model.bin"))
        #expect(tensors.count == 112)
        #expect(tensors["classifier.bias"]?.shape == [3])
        for (name, tensor) in tensors {
            let file = try #require(tensor.owner as? MappedFile)
            let mapping = try #require(file.bytes.baseAddress)..<(file.bytes.baseAddress! + file.bytes.count)
            let start = try #require(tensor.bytes.baseAddress)
            #expect(mapping.contains(start) && start + tensor.bytes.count <= mapping.upperBound, "\(name)")
        }
    }

    /// The fp16 classifier is the fp32 one rounded to half precision, tensor by tensor, even its
    /// `_float_tensor` buffers: uninitialised memory (7e17) in fp32, which rounds to infinity.
    @Test func halfPrecisionZipIsTheFloat32OneRounded() throws {
        let halves = try TorchCheckpoint.read(modelPath("zen2-tiny-cls-fp16/pytorch_model.bin"))
        let singles = try TorchCheckpoint.read(modelPath("zen2-tiny-cls/pytorch_model.bin"))
        #expect(Set(halves.keys) == Set(singles.keys))
        for (name, half) in halves {
            let single = try #require(singles[name])
            #expect(half.dtype == .float16 && single.dtype == .float32, "\(name)")
            #expect(half.shape == single.shape, "\(name)")
            #expect(half.floats() == single.floats().map { Float(Float16($0)) }, "\(name)")
        }
    }

    @Test func legacyFormat() throws {
        let tensors = try TorchCheckpoint.read(modelPath("zen2-tiny-mlm/pytorch_model.bin"))
        #expect(tensors.count == 118)
        #expect(tensors.values.allSatisfy { $0.dtype == .float16 })
        #expect(tensors.keys.filter { $0.hasSuffix("LayerNorm.gamma") }.count == 13)
        #expect(!tensors.keys.contains { $0.hasSuffix("LayerNorm.weight") })
        // Shapes from its config.json: hidden 32, intermediate 48, 4 character layers, 1 n-gram layer.
        #expect(tensors["bert.embeddings.word_embeddings.weight"]?.shape == [21075, 32])
        #expect(tensors["bert.word_embeddings.word_embeddings.weight"]?.shape == [3467, 32])
        #expect(tensors["bert.encoder.layer.3.intermediate.dense.weight"]?.shape == [48, 32])
        #expect(tensors["bert.encoder.word_layers.0.output.dense.weight"]?.shape == [32, 48])
        #expect(tensors["bert.encoder.layer.4.output.dense.weight"] == nil)
        #expect(tensors["cls.predictions.decoder.weight"]?.shape == [21075, 32])
        // Values as Python's pickle and numpy read them.
        let embeddings = try #require(tensors["bert.embeddings.word_embeddings.weight"]).floats()
        #expect(Array(embeddings.prefix(3)) == [0.0711669921875, -0.1331787109375, -0.2041015625])
        #expect(Array(embeddings.suffix(2)) == [-0.291015625, 0.07403564453125])
        #expect(tensors["cls.seq_relationship.bias"]?.floats() == [-0.07232666015625, 0.1656494140625])
        #expect(tensors["bert.encoder.layer.3.output.LayerNorm.gamma"]?.floats().prefix(3) == [1.1083984375, 0.92236328125, 1.0966796875])
        #expect(tensors.values.allSatisfy { $0.floats().allSatisfy { $0.isFinite && abs($0) < 2 } })
    }

    // MARK: Layouts the fixtures do not have

    /// A legacy file written by torch 2.13 (`_use_new_zipfile_serialization=False`): bfloat16, int64,
    /// a 0-dim tensor, a view with a storage offset, a Parameter, an empty tensor, `_metadata`.
    @Test func legacyFileFromTorchWithEveryLayout() throws {
        let tensors = try read(legacyFromTorch)
        #expect(Set(tensors.keys) == ["bf", "i64", "scalar", "row", "base", "param", "empty"])
        #expect(tensors["bf"]?.dtype == .bfloat16)
        #expect(tensors["bf"]?.floats() == [1, -2.5, 3])
        #expect(tensors["i64"]?.shape == [2, 2])
        #expect(tensors["i64"].map(int64s) == [1, -2, 3, 1 << 40])
        #expect(tensors["scalar"]?.shape == [])
        #expect(tensors["scalar"]?.floats() == [7.5])
        #expect(tensors["base"]?.floats() == (0..<12).map(Float.init))
        #expect(tensors["row"]?.floats() == [4, 5, 6, 7])
        #expect(tensors["row"]?.bytes.baseAddress == tensors["base"]?.bytes.baseAddress.map { $0 + 16 })
        #expect(tensors["param"]?.floats() == [1, 1])
        #expect(tensors["empty"]?.shape == [0, 3])
    }

    @Test(arguments: [false, true]) func builtZipWithEveryDType(zip64: Bool) throws {
        var stateDict = StateDict()
        stateDict.tensor("matrix", storage: "FloatStorage", key: "0", count: 6, shape: [2, 3], strides: [3, 1])
        stateDict.tensor("matrix.row", storage: "FloatStorage", key: "0", count: 6, offset: 3, shape: [3], strides: [1])
        stateDict.tensor("column", storage: "FloatStorage", key: "0", count: 6, offset: 4, shape: [1, 2], strides: [99, 1])
        stateDict.tensor("brain", storage: "BFloat16Storage", key: "1", count: 2, shape: [2], strides: [1])
        stateDict.tensor("scalar", storage: "HalfStorage", key: "2", count: 1, shape: [], strides: [])
        stateDict.tensor("long", storage: "LongStorage", key: "3", count: 2, shape: [2, 1], strides: [1, 1])
        stateDict.tensor("parameter", storage: "FloatStorage", key: "4", count: 2, shape: [2], strides: [1], parameter: true)
        stateDict.tensor("by.dtype", storage: "float16", key: "5", count: 1, shape: [1], strides: [1])
        stateDict.item("step", Pickle.int(7))
        let archive = zipArchive([
            ("my_model/data.pkl", stateDict.pickle(withMetadata: true)),
            ("my_model/byteorder", Array("little".utf8)),
            ("my_model/data/0", bytes(of: (0..<6).map(Float.init))),
            ("my_model/data/1", bytes(of: [UInt16(0x3F80), 0xC040])),
            ("my_model/data/2", bytes(of: [UInt16(0x3C00)])),
            ("my_model/data/3", bytes(of: [Int64(-5), 1 << 40])),
            ("my_model/data/4", bytes(of: [Float(0.5), 0.25])),
            ("my_model/data/5", bytes(of: [UInt16(0xC000)])),
            ("my_model/version", Array("3\n".utf8)),
        ], zip64: zip64)

        let tensors = try read(archive)
        #expect(tensors.count == 8)
        #expect(tensors["matrix"]?.floats() == [0, 1, 2, 3, 4, 5])
        #expect(tensors["matrix.row"]?.floats() == [3, 4, 5])
        #expect(tensors["column"]?.floats() == [4, 5])
        #expect(tensors["brain"]?.floats() == [1, -3])
        #expect(tensors["scalar"]?.shape == [])
        #expect(tensors["scalar"]?.floats() == [1])
        #expect(tensors["long"].map(int64s) == [-5, 1 << 40])
        #expect(tensors["parameter"]?.floats() == [0.5, 0.25])
        #expect(tensors["by.dtype"]?.floats() == [-2])
    }

    // MARK: Refusals

    @Test func foreignGlobalsAreRefusedByName() {
        // os.system("echo") as the whole pickle, the way a malicious legacy file would start.
        let system = Pickle.proto + Pickle.global("os", "system") + Pickle.tuple(Pickle.string("echo")) + Pickle.reduce + Pickle.stop
        #expect(unsupportedReason { try read(system) }?.contains("os.system") == true)

        // builtins.eval through STACK_GLOBAL (protocol 4) inside an otherwise valid archive.
        let eval: [UInt8] = [0x80, 4] + Pickle.string("builtins") + Pickle.string("eval") + [0x93]
            + Pickle.tuple(Pickle.string("1")) + Pickle.reduce + Pickle.stop
        #expect(unsupportedReason { try read(zipArchive([("archive/data.pkl", eval)])) }?.contains("builtins.eval") == true)

        // A storage type this reader has no dtype for.
        var ints = StateDict()
        ints.tensor("counts", storage: "IntStorage", key: "0", count: 1, shape: [1], strides: [1])
        let archive = zipArchive([("archive/data.pkl", ints.pickle()), ("archive/data/0", [0, 0, 0, 0])])
        #expect(unsupportedReason { try read(archive) }?.contains("torch.IntStorage") == true)

        // NEWOBJ, an opcode torch's state dicts never use.
        #expect(unsupportedReason { try read(Pickle.proto + [0x81] + Pickle.stop) }?.contains("0x81") == true)
    }

    @Test func badLayoutsAreCorruptNamingTheTensor() throws {
        func archive(_ shape: [Int], _ strides: [Int], offset: Int = 0, storageBytes: Int = 24) -> [UInt8] {
            var stateDict = StateDict()
            stateDict.tensor("the.tensor", storage: "FloatStorage", key: "0", count: 6, offset: offset, shape: shape, strides: strides)
            return zipArchive([("archive/data.pkl", stateDict.pickle()), ("archive/data/0", Array(repeating: 0, count: storageBytes))])
        }
        #expect(try read(archive([2, 3], [3, 1])).count == 1)
        let transposed = corruptReason { try read(archive([3, 2], [1, 3])) }
        #expect(transposed?.contains("the.tensor") == true && transposed?.contains("contiguous") == true)
        #expect(corruptReason { try read(archive([4], [1], offset: 3)) }?.contains("the.tensor") == true)
        #expect(corruptReason { try read(archive([2], [1], offset: -1)) }?.contains("the.tensor") == true)
        #expect(corruptReason { try read(archive([-1, 2], [2, 1])) }?.contains("the.tensor") == true)
        #expect(corruptReason { try read(archive([1 << 32, 1 << 32], [1 << 32, 1])) }?.contains("the.tensor") == true)
        #expect(corruptReason { try read(archive([6], [1], storageBytes: 20)) }?.contains("the.tensor") == true)
    }

    @Test func compressedOrForeignArchivesAreRefused() {
        var stateDict = StateDict()
        stateDict.tensor("w", storage: "FloatStorage", key: "0", count: 1, shape: [1], strides: [1])
        let pickle = stateDict.pickle()
        #expect(unsupportedReason { try read(zipArchive([("a/data.pkl", pickle), ("a/data/0", [0, 0, 0, 0])], method: 8)) }?
            .contains("compressed") == true)
        #expect(unsupportedReason { try read(zipArchive([("a/data.pkl", pickle), ("a/byteorder", Array("big".utf8))])) } != nil)
        #expect(corruptReason { try read(zipArchive([("a/data.pkl", pickle)])) }?.contains("storage 0") == true)
        #expect(corruptReason { try read(zipArchive([("a/weights.npy", [1, 2, 3])])) }?.contains("data.pkl") == true)
    }

    /// A central directory that points an entry at another's local header, a local header whose
    /// extra length lies, a local header of another name or method, and damaged data all loaded
    /// the wrong bytes (issue 13, item 5).
    @Test func lyingZipRecordsAreRefusedNamingTheEntry() throws {
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: modelPath("zen2-tiny-cls-fp16/pytorch_model.bin"))))
        #expect(try read(original).count == 112)
        let name = "pytorch_model/data/0"
        let central = try #require(centralDirectoryEntry(named: name, in: original))
        let local = Int(original.load(UInt32.self, at: central + 42))
        func reason(_ change: (inout [UInt8]) -> Void) -> String? {
            var damaged = original
            change(&damaged)
            return corruptReason { try read(damaged) }
        }

        #expect(reason { $0.store(UInt32(0), at: central + 42) }?.contains("is not that of \(name)") == true)
        for extra: UInt16 in [original.load(UInt16.self, at: local + 28) + 100, 0xFFFF] {
            #expect(reason { $0.store(extra, at: local + 28) }?.contains(name) == true, "extra length \(extra)")
        }
        #expect(reason { $0[local + 30 + name.utf8.count - 1] = UInt8(ascii: "9") }?.contains("is not that of \(name)") == true)
        #expect(reason { $0.store(UInt16(8), at: local + 8) }?.contains("another compression method") == true)
        let dataStart = local + 30 + name.utf8.count + Int(original.load(UInt16.self, at: local + 28))
        #expect(reason { $0[dataStart + 5] ^= 0x10 }?.contains("the contents of \(name) do not match their CRC-32") == true)
        #expect(reason { $0[central + 16] ^= 1 }?.contains("the contents of \(name) do not match their CRC-32") == true)

        var stateDict = StateDict()
        stateDict.tensor("w", storage: "FloatStorage", key: "0", count: 1, shape: [1], strides: [1])
        let twice = zipArchive([("a/data.pkl", stateDict.pickle()), ("a/data/0", [0, 0, 0, 0]), ("a/data/0", [0, 0, 128, 63])])
        #expect(corruptReason { try read(twice) }?.contains("lists a/data/0 twice") == true)
    }

    /// The CRC pass over each storage also finds NaN and infinity: a clean storage's tensors are
    /// known finite, and the weight store names the first bad element of any other.
    @Test func theChecksumPassMarksCleanStorages() throws {
        var stateDict = StateDict()
        stateDict.tensor("bad", storage: "FloatStorage", key: "0", count: 4, shape: [4], strides: [1])
        stateDict.tensor("good", storage: "HalfStorage", key: "1", count: 2, shape: [2], strides: [1])
        let tensors = try read(zipArchive([("a/data.pkl", stateDict.pickle()), ("a/data/0", bytes(of: [Float(1), .nan, 2, 3])),
                                           ("a/data/1", bytes(of: [UInt16(0x3C00), 0x7BFF]))]))
        #expect(tensors["bad"]?.knownFinite == false && tensors["good"]?.knownFinite == true)
        let store = try WeightStore(path: "test.bin", tensors: tensors)
        #expect(throws: CheckpointError.nonFinite(name: "bad", element: 1, path: "test.bin")) { try store.tensor("bad", shape: [4]) }
        #expect(try store.tensor("good", shape: [2]).scalars == [1, 65504])
    }

    @Test func crc32AgreesWithTheDefinition() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0).crc } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.checksum($0).crc } == 0)
        // Every length around the folding steps (64 and 16 bytes), from unaligned starts too, and
        // in parts combined, against the bitwise definition.
        var random = SplitMix64(seed: 32)
        let data = (0..<1100).map { _ in UInt8.random(in: 0...255, using: &random) }
        data.withUnsafeBytes { data in
            for start in [0, 1, 7] {
                for count in Array(0...200) + [511, 512, 513, 1000] {
                    let bytes = UnsafeRawBufferPointer(rebasing: data[start..<(start + count)])
                    let expected = zen_crc32_portable(0, bytes.baseAddress ?? data.baseAddress!, count)
                    for parts in [1, 2, 3, 5] {
                        #expect(CRC32.checksum(bytes, parts: parts).crc == expected, "\(count) bytes from \(start) in \(parts) parts")
                    }
                }
            }
        }
    }

    @Test func truncatedFilesAreCorrupt() throws {
        for length in 0..<legacyFromTorch.count {
            #expect(corruptReason { try read(Array(legacyFromTorch.prefix(length))) } != nil, "legacy prefix of \(length) bytes")
        }
        let zip = try [UInt8](Data(contentsOf: URL(fileURLWithPath: modelPath("zen2-tiny-cls-fp16/pytorch_model.bin"))))
        for length in [0, 4, 100, zip.count / 2, zip.count - 22, zip.count - 1] {
            #expect(corruptReason { try read(Array(zip.prefix(length))) } != nil, "zip prefix of \(length) bytes")
        }
        // Through a real file too: the legacy fixture cut inside its storage data.
        let legacy = try Data(contentsOf: URL(fileURLWithPath: modelPath("zen2-tiny-mlm/pytorch_model.bin")))
        let truncated = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-\(UUID()).bin")
        try legacy.prefix(legacy.count / 2).write(to: truncated)
        defer { try? FileManager.default.removeItem(at: truncated) }
        #expect(corruptReason { try TorchCheckpoint.read(truncated.path) }?.contains("truncated") == true)
    }

    @Test func randomBytesAreRefused() {
        var generator = SplitMix64(seed: 42)
        for first: [UInt8] in [[], [0x80, 2], Array("PK\u{3}\u{4}".utf8), Array("hello\n".utf8)] {
            for _ in 0..<20 {
                let noise = first + (0..<256).map { _ in UInt8.random(in: 0...255, using: &generator) }
                switch failure({ try read(noise) }) {
                case .corrupt?, .unsupported?: break
                case let other: Issue.record("random bytes gave \(String(describing: other))")
                }
            }
        }
    }

    /// Every single-byte change of the small files is read or refused, never a crash.
    @Test func damagedFilesNeverCrash() {
        var stateDict = StateDict()
        stateDict.tensor("w", storage: "FloatStorage", key: "0", count: 2, shape: [2], strides: [1])
        let archive = zipArchive([("a/data.pkl", stateDict.pickle(withMetadata: true)), ("a/data/0", bytes(of: [Float(1), 2]))],
                                 zip64: true)
        for original in [legacyFromTorch, archive] {
            for index in original.indices {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var damaged = original
                    damaged[index] ^= flip
                    _ = failure { try read(damaged) }
                }
            }
        }
    }
}

// MARK: - Helpers

private func modelPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/fixtures/models/" + relative).standardizedFileURL.path
}


private func read(_ contents: [UInt8]) throws(CheckpointError) -> [String: TensorData] {
    let buffer = Buffer(contents)
    return try TorchCheckpoint.read(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<contents.count]), owner: buffer, path: "test.bin")
}

/// The error `body` throws, if any (all the readers throw only `CheckpointError`).
private func failure(_ body: () throws -> Any) -> CheckpointError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? CheckpointError
    }
}

private func corruptReason(_ body: () throws -> Any) -> String? {
    guard case .corrupt(_, let reason)? = failure(body) else { return nil }
    return reason
}

private func unsupportedReason(_ body: () throws -> Any) -> String? {
    guard case .unsupported(_, let reason)? = failure(body) else { return nil }
    return reason
}

private func int64s(_ tensor: TensorData) -> [Int64] {
    (0..<tensor.elementCount).map { tensor.bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
}


/// A safetensors file read independently of the module: name → (dtype, shape, bytes).
private func safetensors(_ path: String) throws -> [String: (dtype: String, shape: [Int], bytes: Data)] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
    var tensors: [String: (dtype: String, shape: [Int], bytes: Data)] = [:]
    for (name, value) in header where name != "__metadata__" {
        let entry = try #require(value as? [String: Any])
        let offsets = try #require(entry["data_offsets"] as? [NSNumber]).map(\.intValue)
        let shape = try #require(entry["shape"] as? [NSNumber]).map(\.intValue)
        tensors[name] = (try #require(entry["dtype"] as? String), shape,
                         data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])))
    }
    return tensors
}



/// `legacy.pt` as torch 2.13 writes it with `_use_new_zipfile_serialization=False`, from
/// `base = torch.arange(12.).reshape(3, 4)` and an OrderedDict (with `_metadata`) of
/// bf = tensor([1, -2.5, 3], dtype=bfloat16), i64 = tensor([[1, -2], [3, 2**40]]), scalar = tensor(7.5),
/// row = base[1], base, param = nn.Parameter(torch.ones(2)), empty = torch.zeros(0, 3).
private let legacyFromTorch = [UInt8](Data(base64Encoded: """
    gAKKCmz8nEb5IGqoUBkugAJN6QMugAJ9cQAoWBAAAABwcm90b2NvbF92ZXJzaW9ucQFN6QNYDQAAAGxpdHRsZV9lbmRpYW5x
    AohYCgAAAHR5cGVfc2l6ZXNxA31xBChYBQAAAHNob3J0cQVLAlgDAAAAaW50cQZLBFgEAAAAbG9uZ3EHSwR1dS6AAmNjb2xs
    ZWN0aW9ucwpPcmRlcmVkRGljdApxAClScQEoWAIAAABiZnECY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcQMo
    KFgHAAAAc3RvcmFnZXEEY3RvcmNoCkJGbG9hdDE2U3RvcmFnZQpxBVgOAAAAOTQwNDQwNjM1OTE5NjhxBlgDAAAAY3B1cQdL
    A050cQhRSwBLA4VxCUsBhXEKiWgAKVJxC3RxDFJxDVgDAAAAaTY0cQ5oAygoaARjdG9yY2gKTG9uZ1N0b3JhZ2UKcQ9YDgAA
    ADk0MDQ0MDYzNDY4NTQ0cRBoB0sETnRxEVFLAEsCSwKGcRJLAksBhnETiWgAKVJxFHRxFVJxFlgGAAAAc2NhbGFycRdoAygo
    aARjdG9yY2gKRmxvYXRTdG9yYWdlCnEYWA4AAAA5NDA0NDA2MzQ2OTIwMHEZaAdLAU50cRpRSwApKYloAClScRt0cRxScR1Y
    AwAAAHJvd3EeaAMoKGgEaBhYDgAAADk0MDQ0MTQ5OTIzMDU2cR9oB0sMTnRxIFFLBEsEhXEhSwGFcSKJaAApUnEjdHEkUnEl
    WAQAAABiYXNlcSZoAygoaARoGFgOAAAAOTQwNDQxNDk5MjMwNTZxJ2gHSwxOdHEoUUsASwNLBIZxKUsESwGGcSqJaAApUnEr
    dHEsUnEtWAUAAABwYXJhbXEuY3RvcmNoLl91dGlscwpfcmVidWlsZF9wYXJhbWV0ZXIKcS9oAygoaARoGFgOAAAAOTQwNDQw
    NjM1Nzc1MDRxMGgHSwJOdHExUUsASwKFcTJLAYVxM4loAClScTR0cTVScTaIaAApUnE3h3E4UnE5WAUAAABlbXB0eXE6aAMo
    KGgEaBhYDgAAADk0MDQ0MDYzNTgwNDQ4cTtoB0sATnRxPFFLAEsASwOGcT1LA0sBhnE+iWgAKVJxP3RxQFJxQXV9cUJYCQAA
    AF9tZXRhZGF0YXFDfXFEWAAAAABxRX1xRlgHAAAAdmVyc2lvbnFHSwFzc3NiLoACXXEAKFgOAAAAOTQwNDQwNjM0Njg1NDRx
    AVgOAAAAOTQwNDQwNjM0NjkyMDBxAlgOAAAAOTQwNDQwNjM1Nzc1MDRxA1gOAAAAOTQwNDQwNjM1ODA0NDhxBFgOAAAAOTQw
    NDQwNjM1OTE5NjhxBVgOAAAAOTQwNDQxNDk5MjMwNTZxBmUuBAAAAAAAAAABAAAAAAAAAP7/////////AwAAAAAAAAAAAAAA
    AAEAAAEAAAAAAAAAAADwQAIAAAAAAAAAAACAPwAAgD8AAAAAAAAAAAMAAAAAAAAAgD8gwEBADAAAAAAAAAAAAAAAAACAPwAA
    AEAAAEBAAACAQAAAoEAAAMBAAADgQAAAAEEAABBBAAAgQQAAMEE=
    """, options: .ignoreUnknownCharacters)!)

