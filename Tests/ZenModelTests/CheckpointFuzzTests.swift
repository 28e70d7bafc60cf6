import Foundation
import Testing
@testable import ZenModel
import ZenTensor

/// The loader fuzzers of issue 13 (which found items 3 and 5), on the fixture models with fixed
/// seeds: bit flips, truncations, lying safetensors headers, lying ZIP records and hostile
/// pickles. Each case runs the whole load (reader, canonical names, config check, the network's
/// parameter walk) and must, within its deadline, either build the network with finite weights or
/// throw a `CheckpointError`: a trap kills the test process, a hang fails the case.
///
/// Where the format can tell (a safetensors header, anything in a ZIP archive, whose every entry
/// read is CRC-checked), a damaged file that still loads must load exactly the original weights.
@Suite struct CheckpointFuzzTests {
    /// A fixture checkpoint, its config, and the parameters it loads to.
    struct Fixture: @unchecked Sendable {
        enum Format { case safetensors, torch }

        let path: String
        let format: Format
        let bytes: [UInt8]
        let config: ZenConfig
        let parameters: [String: Data]

        init(_ model: String, _ file: String, _ format: Format) throws {
            let directory = ModelFixtures.path(model)
            path = directory + "/" + file
            self.format = format
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            config = try ZenConfig(contentsOf: directory + "/config.json")
            let placeholder = Self(path: path, format: format, bytes: bytes, config: config)
            guard case .loaded(let parameters)? = placeholder.load(bytes) else {
                throw CheckpointError.corrupt(path: path, reason: "the undamaged fixture does not load")
            }
            self.parameters = parameters
        }

        private init(path: String, format: Format, bytes: [UInt8], config: ZenConfig) {
            (self.path, self.format, self.bytes, self.config, parameters) = (path, format, bytes, config, [:])
        }

        /// Loads `bytes` as this fixture's weights, on a thread of its own: nil if it did not
        /// finish within the deadline.
        func load(_ bytes: [UInt8]) -> Outcome? {
            withDeadline(seconds: 60) { [self] in
                let buffer = Buffer(bytes)
                let region = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<bytes.count])
                do throws(CheckpointError) {
                    let tensors = format == .safetensors ? try SafeTensors.read(region, owner: buffer, path: path)
                        : try TorchCheckpoint.read(region, owner: buffer, path: path)
                    let (encoder, heads) = try ZenModel.network(config, weights: try WeightStore(path: path, tensors: tensors),
                                                                configPath: "config.json")
                    var loaded: [String: Data] = [:]
                    for (name, tensor) in encoder.namedParameters + heads.namedParameters {
                        let values = tensor.withUnsafeBufferPointer { Data(buffer: $0) }
                        guard values.withUnsafeBytes({ $0.bindMemory(to: Float.self).allSatisfy(\.isFinite) }) else {
                            return .nonFiniteLoaded(name)
                        }
                        loaded[name] = values
                    }
                    return .loaded(loaded)
                } catch {
                    return .refused(error)
                }
            }
        }
    }

    enum Outcome {
        case loaded([String: Data])
        case refused(CheckpointError)
        /// Loaded although parameter `name` holds a NaN or an infinity: the loader's check failed.
        case nonFiniteLoaded(String)
    }

    /// What each case must come to.
    enum Expectation {
        /// Loaded or refused, either way.
        case anything
        /// Refused.
        case refused
        /// Refused, or loaded with exactly the fixture's weights.
        case refusedOrOriginal
        /// Loaded (any finite values), or refused because of a NaN or infinity.
        case loadedOrNonFinite
    }

    static let safetensors = Result { try Fixture("zen2-tiny-ner", "model.safetensors", .safetensors) }
    static let zip = Result { try Fixture("zen2-tiny-cls-fp16", "pytorch_model.bin", .torch) }
    static let legacy = Result { try Fixture("zen2-tiny-mlm", "pytorch_model.bin", .torch) }

    /// Runs every case and checks its outcome; returns how many loaded.
    @discardableResult
    func run(_ fixture: Fixture, _ cases: [(label: String, bytes: [UInt8], expect: Expectation)]) -> Int {
        var loadedCount = 0
        for (label, bytes, expectation) in cases {
            guard let outcome = fixture.load(bytes) else {
                Issue.record("\(label): no answer within the deadline")
                continue
            }
            switch (outcome, expectation) {
            case (.nonFiniteLoaded(let name), _):
                Issue.record("\(label): loaded with NaN or infinity in \(name)")
            case (.loaded, .refused):
                Issue.record("\(label): loaded")
            case (.loaded(let parameters), .refusedOrOriginal):
                let changed = parameters.keys.filter { parameters[$0] != fixture.parameters[$0] }.sorted()
                #expect(changed.isEmpty && parameters.count == fixture.parameters.count, "\(label): loaded other weights, in \(changed.prefix(3))")
                loadedCount += 1
            case (.refused(let error), .loadedOrNonFinite):
                guard case .nonFinite = error else {
                    Issue.record("\(label): \(error)")
                    continue
                }
            case (.loaded, _):
                loadedCount += 1
            case (.refused(let error), _):
                #expect(error.description.contains(fixture.path) || error.description.contains("config.json"),
                        "\(label): the error does not name the file: \(error)")
            }
        }
        return loadedCount
    }

    // MARK: safetensors

    @Test func safetensorsBitFlipsAndTruncations() throws {
        let fixture = try Self.safetensors.get()
        var random = SplitMix64(seed: 13_05)
        let headerEnd = 8 + Int(fixture.bytes.load(UInt64.self, at: 0))
        var cases: [(String, [UInt8], Expectation)] = []
        for index in 0..<80 {
            let (damaged, bits) = flip(fixture.bytes, in: 0..<headerEnd, count: 1 + index % 3, using: &random)
            cases.append(("header bits \(bits)", damaged, .refusedOrOriginal))
        }
        for index in 0..<20 {
            let (damaged, bits) = flip(fixture.bytes, in: headerEnd..<fixture.bytes.count, count: 1 + index % 4, using: &random)
            cases.append(("data bits \(bits)", damaged, .loadedOrNonFinite))
        }
        for index in 0..<40 {
            let end = index % 2 == 0 ? Int.random(in: 0..<headerEnd, using: &random) : Int.random(in: headerEnd..<fixture.bytes.count, using: &random)
            cases.append(("truncated to \(end) bytes", Array(fixture.bytes.prefix(end)), .refused))
        }
        run(fixture, cases)
    }

    @Test func safetensorsLyingHeaders() throws {
        let fixture = try Self.safetensors.get()
        var random = SplitMix64(seed: 13_06)
        let headerLength = Int(fixture.bytes.load(UInt64.self, at: 0))
        let data = Array(fixture.bytes[(8 + headerLength)...])
        var header = try JSONSerialization.jsonObject(with: Data(fixture.bytes[8..<(8 + headerLength)])) as! [String: Any]
        let metadata = header.removeValue(forKey: "__metadata__")
        let names = header.keys.sorted()
        var cases: [(String, [UInt8], Expectation)] = []

        for _ in 0..<20 {
            let lie: UInt64 = Bool.random(using: &random) ? UInt64(Int64(headerLength) + Int64.random(in: -16...16, using: &random))
                : random.next()
            guard lie != UInt64(headerLength) else { continue }
            var lying = fixture.bytes
            lying.store(lie, at: 0)
            cases.append(("header length \(lie)", lying, .refused))
        }
        for _ in 0..<80 {
            let name = names.randomElement(using: &random)!
            var entry = header[name] as! [String: Any]
            var shape = entry["shape"] as! [Int]
            var offsets = entry["data_offsets"] as! [Int]
            let lie: String
            switch Int.random(in: 0..<6, using: &random) {
            case 0:
                let index = Int.random(in: 0..<2, using: &random)
                offsets[index] += [-4, -2, -1, 1, 2, 4, 1 << 40, -offsets[index]].randomElement(using: &random)!
                lie = "data_offsets \(offsets)"
                entry["data_offsets"] = offsets
            case 1:
                guard !shape.isEmpty else { continue }
                let index = Int.random(in: 0..<shape.count, using: &random)
                shape[index] = [0, shape[index] + 1, shape[index] * 2, 1 << 31, 1 << 62, Int.max, -1].randomElement(using: &random)!
                lie = "shape \(shape)"
                entry["shape"] = shape
            case 2:
                shape.append([2, 1 << 32].randomElement(using: &random)!)
                lie = "shape \(shape)"
                entry["shape"] = shape
            case 3:
                let dtype = ["F16", "BF16", "I64", "F64", "U8", "", "f32"].randomElement(using: &random)!
                lie = "dtype \(dtype)"
                entry["dtype"] = dtype
            case 4:
                let value: Any = [NSNull(), "F32", [1.5], [true], ["x": 1]].randomElement(using: &random)!
                let key = ["dtype", "shape", "data_offsets"].randomElement(using: &random)!
                lie = "\(key) \(value)"
                entry[key] = value
            default:
                let key = ["dtype", "shape", "data_offsets"].randomElement(using: &random)!
                lie = "no \(key)"
                entry[key] = nil
            }
            guard !(entry as NSDictionary).isEqual(to: header[name] as! [String: Any]) else { continue }
            var lying = header
            lying[name] = entry
            if let metadata { lying["__metadata__"] = metadata }
            cases.append(("\(name): \(lie)", try safetensorsFile(lying, data: data), .refused))
        }
        // Headers the format does not allow, around the fixture's tensors.
        let json = Array(fixture.bytes[8..<(8 + headerLength)])
        for (label, lying) in [("a byte-order mark", [0xEF, 0xBB, 0xBF] + json),
                               ("UTF-16", Array(String(decoding: json, as: UTF8.self).utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }),
                               ("200 nested arrays", Array(("{\"x\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + ",").utf8) + json.dropFirst())] {
            cases.append((label, bytes(of: [UInt64(lying.count).littleEndian]) + lying + data, .refused))
        }
        for metadata: Any in [["format": 1], [1, 2], "pt", ["format": ["nested": "pt"]]] {
            var lying = header
            lying["__metadata__"] = metadata
            cases.append(("__metadata__ \(metadata)", try safetensorsFile(lying, data: data), .refused))
        }
        run(fixture, cases)
    }

    // MARK: ZIP (torch.save since 1.6)

    @Test func zipBitFlipsAndTruncations() throws {
        let fixture = try Self.zip.get()
        var random = SplitMix64(seed: 13_07)
        let records = zipRecords(fixture.bytes)
        let directory = records.map(\.central).min()!
        var cases: [(String, [UInt8], Expectation)] = []
        for index in 0..<100 {
            let region: Range<Int>
            switch index % 3 {
            case 0: region = directory..<fixture.bytes.count
            case 1:
                let local = records.randomElement(using: &random)!.local
                region = local..<(local + 30 + Int(fixture.bytes.load(UInt16.self, at: local + 26)) + Int(fixture.bytes.load(UInt16.self, at: local + 28)))
            default: region = 0..<fixture.bytes.count
            }
            let (damaged, bits) = flip(fixture.bytes, in: region, count: 1 + index % 3, using: &random)
            cases.append(("bits \(bits)", damaged, .refusedOrOriginal))
        }
        for _ in 0..<30 {
            let end = Int.random(in: 0..<fixture.bytes.count, using: &random)
            cases.append(("truncated to \(end) bytes", Array(fixture.bytes.prefix(end)), .refused))
        }
        let loaded = run(fixture, cases)
        #expect(loaded > 0 && loaded < 100, "flips of fields no reader uses still load; damage to what is read does not")
    }

    @Test func zipLyingRecords() throws {
        let fixture = try Self.zip.get()
        var random = SplitMix64(seed: 13_08)
        let records = zipRecords(fixture.bytes)
        let end = fixture.bytes.count - 22
        let locator = end - 20
        let record = Int(fixture.bytes.load(UInt64.self, at: locator + 8))
        var cases: [(String, [UInt8], Expectation)] = []
        for _ in 0..<90 {
            let entry = records.randomElement(using: &random)!
            var lying = fixture.bytes
            let lie: String
            switch Int.random(in: 0..<14, using: &random) {
            case 0:
                let target = [0, records.randomElement(using: &random)!.local, entry.local + Int.random(in: -64...64, using: &random),
                              Int.random(in: 0..<fixture.bytes.count, using: &random)].randomElement(using: &random)!
                lie = "central offset of \(entry.name) \(target)"
                lying.store(UInt32(truncatingIfNeeded: max(target, 0)), at: entry.central + 42)
            case 1:
                let field = [20, 24].randomElement(using: &random)!
                let size = Int(lying.load(UInt32.self, at: entry.central + field)) + Int.random(in: -8...8, using: &random)
                lie = "central size field \(field) of \(entry.name) \(size)"
                lying.store(UInt32(truncatingIfNeeded: max(size, 0)), at: entry.central + field)
            case 2:
                lie = "central CRC of \(entry.name)"
                lying.store(UInt32.random(in: 0...UInt32.max, using: &random), at: entry.central + 16)
            case 3:
                let index = entry.central + 46 + Int.random(in: 0..<entry.name.utf8.count, using: &random)
                lie = "central name byte \(index - entry.central - 46) of \(entry.name)"
                lying[index] = UInt8.random(in: 0x21...0x7E, using: &random)
            case 4:
                let method = [8, 12, 14, 99].randomElement(using: &random)!
                lie = "central method of \(entry.name) \(method)"
                lying.store(UInt16(method), at: entry.central + 10)
            case 5:
                lie = "central encryption flag of \(entry.name)"
                lying[entry.central + 8] |= 1
            case 6:
                let field = [28, 30, 32].randomElement(using: &random)!
                let length = [Int(lying.load(UInt16.self, at: entry.central + field)) + Int.random(in: -2...2, using: &random), 0xFFFF]
                    .randomElement(using: &random)!
                lie = "central length field \(field) of \(entry.name) \(length)"
                lying.store(UInt16(truncatingIfNeeded: max(length, 0)), at: entry.central + field)
            case 7:
                let extra = Int(lying.load(UInt16.self, at: entry.local + 28))
                let length = [extra + 100, 0xFFFF, 0, extra + Int.random(in: -16...16, using: &random)].randomElement(using: &random)!
                lie = "local extra length of \(entry.name) \(length)"
                lying.store(UInt16(truncatingIfNeeded: max(length, 0)), at: entry.local + 28)
            case 8:
                let length = Int(lying.load(UInt16.self, at: entry.local + 26)) + [-1, 1].randomElement(using: &random)!
                lie = "local name length of \(entry.name) \(length)"
                lying.store(UInt16(length), at: entry.local + 26)
            case 9:
                lie = "local signature of \(entry.name)"
                lying[entry.local + Int.random(in: 0..<4, using: &random)] ^= 0x20
            case 10:
                lie = "local method of \(entry.name)"
                lying.store(UInt16(8), at: entry.local + 8)
            case 11:
                let field = [24, 32, 40, 48].randomElement(using: &random)!
                let value = Int(lying.load(UInt64.self, at: record + field)) + [-46, -1, 1, 46, 1 << 40].randomElement(using: &random)!
                lie = "ZIP64 end record field \(field) \(value)"
                lying.store(UInt64(truncatingIfNeeded: value), at: record + field)
            case 12:
                let value = record + [-56, -1, 1, 1 << 33].randomElement(using: &random)!
                lie = "ZIP64 locator offset \(value)"
                lying.store(UInt64(value), at: locator + 8)
            default:
                let (other, field) = ([10, 12, 16].randomElement(using: &random)!, Int.random(in: 0...0xFFFF, using: &random))
                lie = "end record field \(other) \(field)"
                lying.store(UInt16(field), at: end + other)
            }
            guard lying != fixture.bytes else { continue }
            cases.append((lie, lying, .refusedOrOriginal))
        }
        run(fixture, cases)
    }

    // MARK: The legacy format (pickles, then the storages)

    @Test func legacyPicklesDamaged() throws {
        let fixture = try Self.legacy.get()
        var random = SplitMix64(seed: 13_09)
        // Five pickles come first (magic number, protocol, system information, state dict, storage
        // keys), then the storages' data.
        let pickles = 0..<fixture.bytes.withUnsafeBytes { bytes in
            let unpickler = Unpickler(bytes, path: fixture.path)
            for _ in 0..<5 { _ = try? unpickler.load() }
            return unpickler.position
        }
        var cases: [(String, [UInt8], Expectation)] = []
        for index in 0..<60 {
            let (damaged, bits) = flip(fixture.bytes, in: pickles, count: 1 + index % 3, using: &random)
            cases.append(("pickle bits \(bits)", damaged, .anything))
        }
        for index in 0..<20 {
            let (damaged, bits) = flip(fixture.bytes, in: pickles.upperBound..<fixture.bytes.count, count: 1 + index % 3, using: &random)
            cases.append(("data bits \(bits)", damaged, .loadedOrNonFinite))
        }
        for _ in 0..<20 {
            let end = Int.random(in: 0..<fixture.bytes.count, using: &random)
            cases.append(("truncated to \(end) bytes", Array(fixture.bytes.prefix(end)), .refused))
        }
        run(fixture, cases)
    }

    // MARK: Hostile and malformed pickles

    /// Random opcode streams, and the attacks of the probe, each as a zip's `data.pkl` and as a
    /// legacy file's state dict: all refused, the code-running ones by the global's name.
    @Test func hostilePicklesAreRefused() throws {
        let fixture = try Self.zip.get()
        var random = SplitMix64(seed: 13_10)
        var pickles: [(String, [UInt8])] = (0..<100).map { index in ("random opcodes #\(index)", randomPickle(using: &random)) }
        pickles += maliciousPickles.map { ($0.label, $0.pickle) }
        pickles += malformedPickles
        var cases: [(String, [UInt8], Expectation)] = []
        for (label, pickle) in pickles {
            cases.append(("zip: " + label, zipArchive([("archive/data.pkl", pickle), ("archive/data/0", [UInt8](repeating: 0, count: 64))]), .refused))
            cases.append(("legacy: " + label, legacyPrefix + pickle + Pickle.proto + [0x5D] + Pickle.stop, .refused))
        }
        run(fixture, cases)

        for (label, pickle, global) in maliciousPickles {
            for file in [zipArchive([("archive/data.pkl", pickle)]), legacyPrefix + pickle] {
                guard case .refused(.unsupported(_, let reason))? = fixture.load(file) else {
                    Issue.record("\(label) was not refused as unsupported")
                    continue
                }
                #expect(reason.contains(global), "\(label): \(reason)")
            }
        }
    }

    /// The magic number, protocol version and system information pickles that open a legacy file.
    let legacyPrefix: [UInt8] = Pickle.proto + [0x8A, 10, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] + Pickle.stop
        + Pickle.proto + [0x4D, 0xE9, 0x03] + Pickle.stop + Pickle.proto + [0x7D] + Pickle.stop

    /// Pickles that would run code, with the global each must be refused by.
    var maliciousPickles: [(label: String, pickle: [UInt8], global: String)] {
        func call(_ module: String, _ name: String) -> [UInt8] {
            Pickle.proto + Pickle.global(module, name) + Pickle.tuple(Pickle.string("touch /tmp/pwned")) + Pickle.reduce + Pickle.stop
        }
        let stackGlobal: [UInt8] = [0x80, 4] + Pickle.string("builtins") + Pickle.string("eval") + [0x93]
            + Pickle.tuple(Pickle.string("1")) + Pickle.reduce + Pickle.stop
        var inState = StateDict()
        inState.item("x", Pickle.global("subprocess", "Popen") + Pickle.tuple(Pickle.string("ls")) + Pickle.reduce)
        return [("os.system", call("os", "system"), "os.system"), ("posix.system", call("posix", "system"), "posix.system"),
                ("builtins.exec", call("builtins", "exec"), "builtins.exec"), ("builtins.eval by STACK_GLOBAL", stackGlobal, "builtins.eval"),
                ("subprocess.Popen inside a state dict", inState.pickle(), "subprocess.Popen"),
                ("torch.load", call("torch", "load"), "torch.load"),
                ("a spoofed rebuild function", call("torch._utils", "_rebuild_tensor_v2 "), "torch._utils._rebuild_tensor_v2 "),
                ("a spoofed module", call("collections ", "OrderedDict"), "collections .OrderedDict")]
    }

    /// Opcodes torch never writes, nesting, huge lengths, memo abuse and lying tensors.
    var malformedPickles: [(String, [UInt8])] {
        let p = Pickle.proto, stop = Pickle.stop
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { bytes(of: [value.littleEndian]) }
        func lyingTensor(count: Int, offset: Int = 0, shape: [Int], strides: [Int]) -> [UInt8] {
            var stateDict = StateDict()
            stateDict.tensor("embeddings.word_embeddings.weight", storage: "FloatStorage", key: "0", count: count, offset: offset,
                             shape: shape, strides: strides)
            return stateDict.pickle()
        }
        return [
            ("INST", p + [0x69] + Array("os\nsystem\n".utf8) + stop), ("OBJ", p + [0x28, 0x6F] + stop),
            ("NEWOBJ", p + [0x81] + stop), ("EXT1", p + [0x82, 1] + stop), ("PERSID", p + [0x50] + Array("0\n".utf8) + stop),
            ("DUP", p + [0x4E, 0x32] + stop), ("protocol 6", [0x80, 6] + stop), ("an empty pickle", []),
            ("100,000 MARKs", p + [UInt8](repeating: 0x28, count: 100_000) + stop),
            ("100,000 nested tuples", p + [UInt8](repeating: 0x28, count: 100_000) + [UInt8](repeating: 0x74, count: 100_000) + stop),
            ("100,000 nested single tuples", p + [0x4E] + [UInt8](repeating: 0x85, count: 100_000) + stop),
            // Each step appends a new list to the innermost one (memo 0) and makes it the innermost.
            ("100,000 nested lists", p + [0x5D, 0x71, 0] + (0..<100_000).flatMap { _ in [0x68, 0, 0x5D, 0x71, 0, 0x61] } + stop),
            ("a 4 GiB string", p + [0x58] + le(UInt32.max) + Array("abc".utf8) + stop),
            ("a 2 GiB BINSTRING", p + [0x54] + le(Int32.max) + stop),
            ("a negative BINSTRING", p + [0x54] + le(Int32(-5)) + stop),
            ("a long short string", p + [0x8C, 255] + Array("abc".utf8) + stop),
            ("a 255-byte LONG1", p + [0x8A, 255, 1, 2] + stop),
            ("a frame of 2^63 bytes", p + [0x95] + le(UInt64(1) << 63) + [0x7D] + stop),
            ("an unset memo entry", p + [0x6A] + le(UInt32.max) + stop),
            ("a memo put at 2^32-1", p + [0x7D, 0x72] + le(UInt32.max) + [0x6A] + le(UInt32.max) + stop),
            ("a list that holds itself", p + [0x5D, 0x71, 0, 0x68, 0, 0x61] + stop),
            ("a dict that holds itself", p + [0x7D, 0x71, 0] + Pickle.string("self") + [0x68, 0, 0x73] + stop),
            ("100,000 MEMOIZEs", [0x80, 4, 0x4E] + [UInt8](repeating: 0x94, count: 100_000) + stop),
            ("SETITEMS without a dict", p + [0x5D, 0x28] + Pickle.string("k") + [0x4E, 0x75] + stop),
            ("a dict keyed by a number", p + [0x7D, 0x4B, 1, 0x4E, 0x73] + stop),
            ("REDUCE on a string", p + Pickle.string("os.system") + [0x29, 0x52] + stop),
            ("a storage of 2^62 elements", lyingTensor(count: 1 << 62, shape: [1 << 31, 1 << 31], strides: [1 << 31, 1])),
            ("a storage of -1 elements", lyingTensor(count: -1, shape: [4], strides: [1])),
            ("a shape of 2^62 x 4", lyingTensor(count: 16, shape: [1 << 62, 4], strides: [4, 1])),
            ("a storage offset of Int.max", lyingTensor(count: 16, offset: Int.max, shape: [4], strides: [1])),
            ("a negative dimension", lyingTensor(count: 16, shape: [-4, -4], strides: [-4, 1])),
            ("strides that step back", lyingTensor(count: 16, shape: [4, 4], strides: [-4, 1])),
            ("more elements than the storage", lyingTensor(count: 16, shape: [17], strides: [1])),
        ]
    }

    /// A random stream of the opcodes a pickle may hold, with random (often hostile) arguments.
    func randomPickle(using random: inout SplitMix64) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { bytes(of: [value.littleEndian]) }
        func length(_ limit: Int) -> Int {
            Bool.random(using: &random) ? Int.random(in: 0...8, using: &random) : Int.random(in: 0...limit, using: &random)
        }
        let bare: [UInt8] = [0x28, 0x29, 0x2E, 0x4E, 0x51, 0x52, 0x5D, 0x61, 0x62, 0x65, 0x73, 0x74, 0x75, 0x7D,
                             0x85, 0x86, 0x87, 0x88, 0x89, 0x93, 0x94, 0x32, 0x81, 0x82, 0x69, 0x6F, 0x50, 0x00, 0xFF]
        var pickle: [UInt8] = Bool.random(using: &random) ? [0x80, UInt8.random(in: 2...5, using: &random)] : []
        for _ in 0..<Int.random(in: 1...200, using: &random) {
            switch Int.random(in: 0..<12, using: &random) {
            case 0: pickle += [0x4B, UInt8.random(in: 0...255, using: &random)]
            case 1: pickle += [0x4A] + le(Int32.random(in: .min ... .max, using: &random))
            case 2: pickle += [0x8A, UInt8(length(12))] + (0..<length(12)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 3: pickle += [0x58] + le(UInt32(length(Int(UInt32.max)))) + Array("name".utf8)
            case 4: pickle += [0x8C, UInt8(length(255))] + Array("storage".utf8)
            case 5: pickle += [[0x71, 0x68].randomElement(using: &random)!, UInt8.random(in: 0...3, using: &random)]
            case 6: pickle += [[0x72, 0x6A].randomElement(using: &random)!] + le(UInt32(length(Int(UInt32.max))))
            case 7: pickle += [0x95] + le(random.next())
            case 8: pickle += [0x47] + le(random.next())
            case 9:
                let (module, name) = [("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("torch", "FloatStorage"),
                                      ("torch", "HalfStorage"), ("os", "system"), ("builtins", "getattr")].randomElement(using: &random)!
                pickle += Pickle.global(module, name)
            case 10: pickle += Pickle.string(["storage", "0", "cpu", "embeddings.word_embeddings.weight"].randomElement(using: &random)!)
            default: pickle.append(bare.randomElement(using: &random)!)
            }
        }
        if Bool.random(using: &random) { pickle += Pickle.stop }
        return pickle
    }
}

// MARK: - Mutations

/// `bytes` with `count` random bits of `region` flipped, and their positions (byte.bit).
private func flip(_ bytes: [UInt8], in region: Range<Int>, count: Int, using random: inout SplitMix64) -> ([UInt8], [String]) {
    var damaged = bytes
    var flipped: [String] = []
    for _ in 0..<count {
        let (index, bit) = (Int.random(in: region, using: &random), Int.random(in: 0..<8, using: &random))
        damaged[index] ^= 1 << bit
        flipped.append("\(index).\(bit)")
    }
    return (damaged, flipped)
}

/// A safetensors file of `header` (re-encoded) and `data`.
private func safetensorsFile(_ header: [String: Any], data: [UInt8]) throws -> [UInt8] {
    let json = [UInt8](try JSONSerialization.data(withJSONObject: header))
    return bytes(of: [UInt64(json.count).littleEndian]) + json + data
}

/// Each entry of a torch ZIP archive: its name and the offsets of its central and local records
/// (the central directory found through the ZIP64 records that torch always writes).
private func zipRecords(_ archive: [UInt8]) -> [(name: String, central: Int, local: Int)] {
    let record = Int(archive.load(UInt64.self, at: archive.count - 22 - 20 + 8))
    var position = Int(archive.load(UInt64.self, at: record + 48))
    var records: [(name: String, central: Int, local: Int)] = []
    while archive.load(UInt32.self, at: position) == 0x0201_4b50 {
        let nameLength = Int(archive.load(UInt16.self, at: position + 28))
        let name = String(decoding: archive[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self)
        records.append((name, position, Int(archive.load(UInt32.self, at: position + 42))))
        position += 46 + nameLength + Int(archive.load(UInt16.self, at: position + 30)) + Int(archive.load(UInt16.self, at: position + 32))
    }
    return records
}
