import Foundation
import ZenText

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// name to `{dtype, shape, data_offsets}`, then the tensor bytes.
///
/// Reading maps the file and validates the whole header before any tensor is used, as strictly
/// as the format's README defines it: UTF-8 JSON that opens with `{`; `__metadata__`, if present,
/// a map of strings to strings; every entry a known dtype, a shape of non-negative integers and
/// offsets `[begin, end]` whose length is the shape's byte count; the tensors tiling the data
/// section exactly, with no overlap and no byte unaccounted for.
public enum SafeTensors {
    /// Headers larger than this are refused (the format's own reference limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    public static func read(_ path: String) throws(CheckpointError) -> [String: TensorData] {
        let file = try MappedFile(path: path)
        return try read(file.bytes, owner: file, path: path)
    }

    /// Reads the safetensors file in `bytes`, whose tensors keep `owner` alive; `path` names it in errors.
    static func read(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String) throws(CheckpointError) -> [String: TensorData] {
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw corrupt("shorter than the 8-byte header length") }
        let headerLength = Int(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)).clamped(to: UInt64(Int.max)))
        guard headerLength <= maxHeaderBytes, headerLength <= bytes.count - 8 else {
            throw corrupt("header length \(headerLength) exceeds the file")
        }
        let header = try Header(UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)]), corrupt: corrupt)
        let dataStart = 8 + headerLength
        let dataCount = bytes.count - dataStart
        var tensors: [String: TensorData] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, entry) in header.entries {
            guard let dtype = DType(rawValue: entry.dtype) else {
                throw .unsupported(path: path, reason: "dtype \(entry.dtype) of tensor \(name)")
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }), entry.offsets.count == 2, entry.offsets.allSatisfy({ $0 >= 0 }) else {
                throw corrupt("tensor \(name) has a malformed header entry: its shape \(entry.shape) must be non-negative integers "
                    + "and its data_offsets \(entry.offsets) two of them")
            }
            let (begin, end) = (entry.offsets[0], entry.offsets[1])
            // Every size from the header is checked for overflow: a lying shape must be an error, not a trap.
            let (byteCount, overflow) = entry.shape.reduce((dtype.byteCount, false)) { partial, dimension in
                let (product, o) = partial.0.multipliedReportingOverflow(by: dimension)
                return (product, partial.1 || o)
            }
            guard !overflow, begin <= end, end <= dataCount, end - begin == byteCount else {
                throw corrupt("tensor \(name) has offsets [\(begin), \(end)] that do not fit its shape \(entry.shape) or the file")
            }
            ranges.append((begin, end, name))
            tensors[name] = TensorData(dtype: dtype, shape: entry.shape,
                                       bytes: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + begin)..<(dataStart + end)]),
                                       owner: owner)
        }
        // The ranges must tile the data section. That also refuses a name given twice (which JSON
        // decoders silently collapse into one entry) wherever the two entries' bytes differ.
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var position = 0
        for (begin, end, name) in ranges {
            guard begin == position else {
                throw corrupt(begin < position ? "tensor \(name) overlaps another" : "bytes before tensor \(name) belong to no tensor")
            }
            position = end
        }
        guard position == dataCount else { throw corrupt("\(dataCount - position) trailing bytes belong to no tensor") }
        return tensors
    }

    /// Writes `tensors` as a safetensors file laid out byte for byte as the Python `safetensors`
    /// package lays it out (wider dtypes first, then names in byte order; compact JSON header padded
    /// with spaces to 8 bytes), through `OutputFile`: streamed, and atomic.
    public static func write(_ tensors: [(name: String, data: TensorData)], metadata: [String: String] = ["format": "pt"],
                             to path: String) throws {
        func rank(_ dtype: DType) -> Int { [.int64: 3, .float32: 2, .bfloat16: 1, .float16: 0][dtype]! }
        let sorted = tensors.sorted {
            rank($0.data.dtype) != rank($1.data.dtype) ? rank($0.data.dtype) > rank($1.data.dtype)
                : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{" + (try metadata.sorted { $0.key < $1.key }
                .map { "\(try JSONOutput.string($0.key)):\(try JSONOutput.string($0.value))" }).joined(separator: ",") + "},"
        }
        var offset = 0
        header += try sorted.map { tensor in
            let begin = offset
            offset += tensor.data.bytes.count
            return "\(try JSONOutput.string(tensor.name)):{\"dtype\":\"\(tensor.data.dtype.rawValue)\",\"shape\":[\(tensor.data.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(offset)]}"
        }.joined(separator: ",")
        header += "}"
        // Pad the header with spaces so that the data starts 8-byte aligned.
        while (8 + header.utf8.count) % 8 != 0 { header += " " }

        try OutputFile.write(to: path) { file in
            var length = UInt64(header.utf8.count).littleEndian
            try withUnsafeBytes(of: &length) { try file.write($0) }
            try file.write(header)
            for tensor in sorted { try file.write(tensor.data.bytes) }
        }
    }
}

/// The JSON header, decoded strictly: integers must be integers (not `true`, not `0.5`, not beyond
/// 64 bits) and `__metadata__` must map strings to strings.
private struct Header: Decodable {
    struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        var offsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape, offsets = "data_offsets"
        }
    }

    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private(set) var entries: [(name: String, entry: Entry)] = []

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Name.self)
        for name in container.allKeys {
            if name.stringValue == "__metadata__" {
                _ = try container.decode([String: String].self, forKey: name)
            } else {
                entries.append((name.stringValue, try container.decode(Entry.self, forKey: name)))
            }
        }
    }

    /// Decodes the header bytes, which must be UTF-8 JSON opening with `{`: JSON decoders also
    /// take UTF-16 and a byte-order mark, which the format does not allow. A name given twice is
    /// refused by the one JSON reader, as any repeated key is.
    init(_ bytes: UnsafeRawBufferPointer, corrupt: (String) -> CheckpointError) throws(CheckpointError) {
        guard bytes.first == UInt8(ascii: "{"), !bytes.contains(0), String(validating: bytes, as: UTF8.self) != nil else {
            throw corrupt("the header is not UTF-8 JSON opening with '{'")
        }
        do {
            self = try JSONInput.decode(Header.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw corrupt(Self.describe(error))
        } catch {
            throw corrupt("the header is not valid JSON: \(error)")
        }
    }

    /// What is wrong, naming the entry and field: `the header's x.shape[0] must be an integer`.
    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            guard !context.codingPath.isEmpty else { return "the header is not a JSON object" }
            let why = context.codingPath.first?.stringValue == "__metadata__" ? " (__metadata__ maps strings to strings)" : ""
            return "the header's \(DecodingError.fieldPath(context)) must be \(DecodingError.jsonTypeName(type))\(why)"
        case .keyNotFound(let key, let context):
            return "the header entry \(DecodingError.fieldPath(context)) has no \(key.stringValue)"
        case .dataCorrupted(let context):
            return "the header's \(DecodingError.fieldPath(context)) is not valid: \(context.debugDescription)"
        @unknown default:
            return "the header is malformed"
        }
    }
}

private extension UInt64 {
    func clamped(to limit: UInt64) -> UInt64 { Swift.min(self, limit) }
}
