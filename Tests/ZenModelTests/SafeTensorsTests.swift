import Foundation
import Testing
@testable import ZenModel

@Suite struct SafeTensorsTests {
    /// A safetensors file from a header object and data bytes.
    func file(header: String, data: [UInt8]) throws -> String {
        try file(header: Array(header.utf8), data: data)
    }

    func file(header: [UInt8], data: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors").path
        try Data(bytes(of: [UInt64(header.count).littleEndian]) + header + data).write(to: URL(fileURLWithPath: path))
        return path
    }

    func reason(_ header: String, data: [UInt8] = []) throws -> String {
        try reason(Array(header.utf8), data: data)
    }

    /// What reading the file says: "read", or the error.
    func reason(_ header: [UInt8], data: [UInt8]) throws -> String {
        let path = try file(header: header, data: data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try SafeTensors.read(path)
            return "read"
        } catch {
            return error.description
        }
    }

    @Test func readsAndConverts() throws {
        let one = Array(withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { Array($0) })
        let path = try file(header: #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}"#,
                            data: one + [0x80, 0x3F, 0x00, 0xC0])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tensors = try SafeTensors.read(path)
        #expect(tensors["a"]?.floats() == [1.5])
        #expect(tensors["b"]?.floats() == [1, -2])
        #expect(tensors["b"]?.shape == [2])
    }

    @Test func validatesTheHeaderBeforeTrustingIt() throws {
        #expect(try reason("{", data: []).contains("not valid JSON"))
        #expect(try reason("[1]", data: []).contains("opening with '{'"))
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]).contains("do not fit"))
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]).contains("do not fit"))
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0, 9]).contains("trailing bytes"))
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
                           data: [UInt8](repeating: 0, count: 6)).contains("overlaps"))
        #expect(try reason(#"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)).contains("dtype C64"))
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]).contains("malformed"))
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]).contains("do not fit"))
        // Shapes whose element count fits an Int but whose byte count does not (issue 13: these trapped).
        for shape in ["[2305843009213693952]", "[2147483648,2147483648]", "[1152921504606846976,2]"] {
            #expect(try reason(#"{"x":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,0]}}"#, data: []).contains("do not fit"), "\(shape)")
        }
    }

    /// The format is UTF-8 JSON opening with `{`, `__metadata__` a map of strings to strings and
    /// integers that are integers; Foundation's JSON reader alone took a byte-order mark, UTF-16,
    /// any `__metadata__` and `true` for 1 (issue 13, item 5).
    @Test func theHeaderFollowsTheFormatStrictly() throws {
        let entry = #""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        let data: [UInt8] = [0, 0, 128, 63]
        #expect(try reason("{" + entry + "}", data: data) == "read")
        #expect(try reason(#"{"__metadata__":{"format":"pt"},"# + entry + "}", data: data) == "read")

        let json = "{" + entry + "}"
        for (what, header) in [("a byte-order mark", [0xEF, 0xBB, 0xBF] + Array(json.utf8)),
                               ("UTF-16", Array(json.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }),
                               ("a leading space", Array((" " + json).utf8)),
                               ("an invalid UTF-8 byte", Array(#"{"a"#.utf8) + [0xFF] + Array(#"":1}"#.utf8))] {
            #expect(try reason(header, data: data).contains("the header is not UTF-8 JSON opening with '{'"), "\(what)")
        }

        for metadata in [#""pt""#, "[1]", #"{"format":1}"#, #"{"format":{"nested":"x"}}"#, "null"] {
            let message = try reason(#"{"__metadata__":"# + metadata + "," + entry + "}", data: data)
            #expect(message.contains("__metadata__") && message.contains("must be"), "\(metadata): \(message)")
        }
        for (shape, field) in [("[true]", "a.shape[0] must be an integer"), (#"["1"]"#, "a.shape[0] must be an integer"),
                               ("1", "a.shape must be"), ("[0.5]", "not a 64-bit integer"), ("[18446744073709551617]", "not a 64-bit integer")] {
            let message = try reason(#"{"a":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,4]}}"#, data: data)
            #expect(message.contains(field), "\(shape): \(message)")
        }
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[1]}}"#, data: data).contains("has no data_offsets"))
        #expect(try reason(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: data).contains("malformed"))
        #expect(try reason(#"{"a":5}"#, data: data).contains("the header's a must be"))
        // A name given twice, even with the same bytes: which entry a decoder keeps is up to it.
        #expect(try reason("{" + entry + "," + entry + "}", data: data).contains(#"the key "a" is given twice in one object"#))
    }

    @Test func truncatedFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString)").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CheckpointError.corrupt(path: path, reason: "shorter than the 8-byte header length")) { try SafeTensors.read(path) }
        var huge = withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Array($0) }
        huge += [0, 0]
        try Data(huge).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.self) { try SafeTensors.read(path) }
    }

    @Test func writeThenReadRoundTrips() throws {
        let source = try SafeTensors.read(ModelFixtures.path("zen2-tiny-ner") + "/model.safetensors")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rt-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(source.map { (name: $0.key, data: $0.value) }, to: path)
        // The fixture was written by Python's safetensors from the same tensors: the bytes agree.
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: ModelFixtures.path("zen2-tiny-ner") + "/model.safetensors"))
        let back = try SafeTensors.read(path)
        #expect(Set(back.keys) == Set(source.keys))
        for (name, data) in source { #expect(back[name]?.floats() == data.floats() && back[name]?.shape == data.shape) }
    }
}
