import Foundation
import ZenText

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// name to `{dtype, shape, data_offsets}`, then the tensor bytes.
///
/// Reading maps the file and validates the whole header before any tensor is used: offsets in
/// range, sizes that agree with dtype and shape, no overlaps, no bytes unaccounted for.
public enum SafeTensors {
    /// Headers larger than this are refused (the format's own reference limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    public static func read(_ path: String) throws(CheckpointError) -> [String: TensorData] {
        let file = try MappedFile(path: path)
        return try read(file)
    }

    static func read(_ file: MappedFile) throws(CheckpointError) -> [String: TensorData] {
        let bytes = file.bytes
        let path = file.path
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw corrupt("shorter than the 8-byte header length") }
        let headerLength = Int(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)).clamped(to: UInt64(Int.max)))
        guard headerLength <= maxHeaderBytes, headerLength <= bytes.count - 8 else {
            throw corrupt("header length \(headerLength) exceeds the file")
        }
        let headerBytes = Data(bytes[8..<(8 + headerLength)])
        guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataCount = bytes.count - dataStart
        var tensors: [String: TensorData] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [Any])?.compactMap(Self.nonNegativeInt),
                  shape.count == (entry["shape"] as? [Any])?.count,
                  let offsets = (entry["data_offsets"] as? [Any])?.compactMap(Self.nonNegativeInt), offsets.count == 2 else {
                throw corrupt("tensor \(name) has a malformed header entry")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw .unsupported(path: path, reason: "dtype \(dtypeName) of tensor \(name)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            // Every size from the header is checked for overflow: a lying shape must be an error, not a trap.
            let (byteCount, overflow) = shape.reduce((dtype.byteCount, false)) { partial, dimension in
                let (product, o) = partial.0.multipliedReportingOverflow(by: dimension)
                return (product, partial.1 || o)
            }
            guard !overflow, begin <= end, end <= dataCount, end - begin == byteCount else {
                throw corrupt("tensor \(name) has offsets [\(begin), \(end)] that do not fit its shape \(shape) or the file")
            }
            ranges.append((begin, end, name))
            tensors[name] = TensorData(dtype: dtype, shape: shape,
                                       bytes: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + begin)..<(dataStart + end)]),
                                       owner: file)
        }
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

    private static func nonNegativeInt(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded(),
              number.int64Value >= 0 else { return nil }
        return Int(number.int64Value)
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

private extension UInt64 {
    func clamped(to limit: UInt64) -> UInt64 { Swift.min(self, limit) }
}
