/// A read-only ZIP archive over bytes already in memory (a `MappedFile`), as `torch.save` writes one:
/// every entry "stored" (method 0), sizes kept only in the central directory (torch streams its
/// entries with data descriptors, so local headers say 0), ZIP64 records always present.
///
/// Entry contents are slices of the given bytes, never copies. Nothing in the archive is taken on
/// trust: every entry's local header must be where the central directory says, under the same
/// name and method, and its data must lie before the central directory without overlapping
/// another entry; the contents of an entry are checked against the CRC-32 the central directory
/// records for it when they are read, so that a flipped bit or a misplaced entry is an error
/// rather than wrong weights.
struct ZipArchive {
    private struct Entry {
        var method: UInt16
        var flags: UInt16
        var crc: UInt32
        var size: Int
        var compressedSize: Int      // equal to `size` for a stored entry
        var localHeaderOffset: Int
        /// Where the entry's data starts, after its local header.
        var dataOffset = 0
    }

    private static let localHeaderSignature: UInt32 = 0x0403_4b50
    private static let centralHeaderSignature: UInt32 = 0x0201_4b50
    private static let endSignature: UInt32 = 0x0605_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64ExtraID: UInt16 = 0x0001
    // Fixed lengths of the records, before their variable-length name, extra field and comment.
    private static let localHeaderLength = 30
    private static let centralHeaderLength = 46
    private static let endLength = 22
    private static let zip64EndLength = 56

    private let bytes: UnsafeRawBufferPointer
    private let path: String
    private let entries: [String: Entry]

    /// Whether `bytes` start like a ZIP archive (a local file header).
    static func starts(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.littleEndian(UInt32.self, at: 0) == localHeaderSignature
    }

    /// Reads the central directory; `path` only names the file in errors.
    init(_ bytes: UnsafeRawBufferPointer, path: String) throws(CheckpointError) {
        self.bytes = bytes
        self.path = path
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: "zip archive: " + reason) }

        var (directoryOffset, directorySize, entryCount) = try Self.centralDirectory(in: bytes, path: path)
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw corrupt("the central directory lies outside the file")
        }
        var entries: [String: Entry] = [:]
        var position = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        while entryCount > 0 {
            entryCount -= 1
            guard position <= directoryEnd - Self.centralHeaderLength,
                  bytes.littleEndian(UInt32.self, at: position) == Self.centralHeaderSignature,
                  let flags = bytes.littleEndian(UInt16.self, at: position + 8),
                  let method = bytes.littleEndian(UInt16.self, at: position + 10),
                  let crc = bytes.littleEndian(UInt32.self, at: position + 16),
                  let compressedSize32 = bytes.littleEndian(UInt32.self, at: position + 20),
                  let size32 = bytes.littleEndian(UInt32.self, at: position + 24),
                  let nameLength = bytes.littleEndian(UInt16.self, at: position + 28).map(Int.init),
                  let extraLength = bytes.littleEndian(UInt16.self, at: position + 30).map(Int.init),
                  let commentLength = bytes.littleEndian(UInt16.self, at: position + 32).map(Int.init),
                  let offset32 = bytes.littleEndian(UInt32.self, at: position + 42)
            else { throw corrupt("central directory entry \(entries.count) is malformed") }
            let nameStart = position + Self.centralHeaderLength
            let extraStart = nameStart + nameLength
            position = extraStart + extraLength + commentLength
            guard position <= directoryEnd else { throw corrupt("central directory entry \(entries.count) overruns the directory") }
            let name = String(decoding: bytes[nameStart..<extraStart], as: UTF8.self)

            // A field that does not fit 32 bits is 0xFFFFFFFF here and comes from the ZIP64 extra field,
            // which holds just the overflowing fields, in this order.
            var zip64 = Self.zip64Fields(in: UnsafeRawBufferPointer(rebasing: bytes[extraStart..<(extraStart + extraLength)]))
            func wide(_ value: UInt32) throws(CheckpointError) -> Int {
                guard value == .max else { return Int(value) }
                guard let field = zip64.popFirst(), let wide = Int(exactly: field) else {
                    throw corrupt("entry \(name) lacks its ZIP64 size or offset")
                }
                return wide
            }
            let size = try wide(size32)
            let compressedSize = try wide(compressedSize32)
            let offset = try wide(offset32)
            guard entries[name] == nil else { throw corrupt("the central directory lists \(name) twice") }
            entries[name] = Entry(method: method, flags: flags, crc: crc, size: size, compressedSize: compressedSize,
                                  localHeaderOffset: offset)
        }
        try Self.locateData(of: &entries, in: bytes, before: directoryOffset, corrupt: corrupt)
        self.entries = entries
    }

    /// Finds each entry's data after its local header, which must agree with the central directory
    /// (signature, name, method), and checks that the entries lie one after another before the
    /// central directory: a central directory that points an entry at another's header or data, or
    /// a local header whose lengths lie, would otherwise hand out the wrong bytes.
    private static func locateData(of entries: inout [String: Entry], in bytes: UnsafeRawBufferPointer, before directoryOffset: Int,
                                   corrupt: (String) -> CheckpointError) throws(CheckpointError) {
        for (name, entry) in entries {
            let header = entry.localHeaderOffset
            guard header <= directoryOffset - localHeaderLength,
                  bytes.littleEndian(UInt32.self, at: header) == localHeaderSignature,
                  let method = bytes.littleEndian(UInt16.self, at: header + 8),
                  let nameLength = bytes.littleEndian(UInt16.self, at: header + 26).map(Int.init),
                  let extraLength = bytes.littleEndian(UInt16.self, at: header + 28).map(Int.init)
            else { throw corrupt("the central directory points \(name) at offset \(header), where no local header is") }
            let nameStart = header + localHeaderLength
            guard nameLength <= directoryOffset - nameStart,
                  String(decoding: bytes[nameStart..<(nameStart + nameLength)], as: UTF8.self) == name else {
                throw corrupt("the local header at offset \(header) is not that of \(name), which the central directory points there")
            }
            guard method == entry.method else { throw corrupt("the local header of \(name) gives another compression method") }
            let start = nameStart + nameLength + extraLength
            guard start <= directoryOffset, entry.compressedSize <= directoryOffset - start else {
                throw corrupt("the data of \(name) runs into the central directory or past the end of the file")
            }
            entries[name]?.dataOffset = start
        }
        let ordered = entries.sorted { $0.value.localHeaderOffset < $1.value.localHeaderOffset }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where previous.value.dataOffset + previous.value.compressedSize > next.value.localHeaderOffset {
            throw corrupt("the data of \(previous.key) overlaps the entry \(next.key)")
        }
    }

    /// The names of all entries.
    var names: [String] { Array(entries.keys) }

    /// The bytes of entry `name`, a slice of the archive's bytes, once their CRC-32 is checked;
    /// nil when there is no such entry. With `floats`, the same pass also tells whether the entry
    /// holds a NaN or an infinity of that type.
    func contents(of name: String, scanning floats: DType? = nil) throws(CheckpointError)
        -> (bytes: UnsafeRawBufferPointer, nonFinite: Bool)? {
        guard let entry = entries[name] else { return nil }
        guard entry.flags & 1 == 0 else { throw .unsupported(path: path, reason: "the encrypted zip entry \(name)") }
        guard entry.method == 0 else {
            throw .unsupported(path: path,
                               reason: "the compressed zip entry \(name) (method \(entry.method); torch stores entries uncompressed)")
        }
        guard entry.compressedSize == entry.size else {
            throw .corrupt(path: path, reason: "zip archive: stored entry \(name) has two different sizes")
        }
        let data = UnsafeRawBufferPointer(rebasing: bytes[entry.dataOffset..<(entry.dataOffset + entry.size)])
        let (crc, nonFinite) = CRC32.checksum(data, scanning: floats)
        guard crc == entry.crc else {
            throw .corrupt(path: path, reason: "zip archive: the contents of \(name) do not match their CRC-32 (the file is damaged)")
        }
        return (data, nonFinite)
    }

    /// Where the central directory is and how many entries it lists, from the end-of-directory record,
    /// or from the ZIP64 one that its locator (just before it) points to.
    private static func centralDirectory(in bytes: UnsafeRawBufferPointer, path: String)
        throws(CheckpointError) -> (offset: Int, size: Int, count: Int) {
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: "zip archive: " + reason) }
        // The record ends with a comment of at most 65535 bytes, so search backwards that far.
        let lastCandidate = bytes.count - endLength
        guard lastCandidate >= 0 else { throw corrupt("too short for an end-of-directory record (truncated?)") }
        guard let end = stride(from: lastCandidate, through: max(0, lastCandidate - 0xFFFF), by: -1)
            .first(where: { bytes.littleEndian(UInt32.self, at: $0) == endSignature })
        else { throw corrupt("no end-of-directory record (truncated?)") }

        let locator = end - 20
        if locator >= 0, bytes.littleEndian(UInt32.self, at: locator) == zip64LocatorSignature {
            guard let recordOffset = bytes.littleEndian(UInt64.self, at: locator + 8).flatMap({ Int(exactly: $0) }),
                  recordOffset <= bytes.count - zip64EndLength,
                  bytes.littleEndian(UInt32.self, at: recordOffset) == zip64EndSignature,
                  let count = bytes.littleEndian(UInt64.self, at: recordOffset + 32).flatMap({ Int(exactly: $0) }),
                  let size = bytes.littleEndian(UInt64.self, at: recordOffset + 40).flatMap({ Int(exactly: $0) }),
                  let offset = bytes.littleEndian(UInt64.self, at: recordOffset + 48).flatMap({ Int(exactly: $0) })
            else { throw corrupt("the ZIP64 end-of-directory record is malformed") }
            return (offset, size, count)
        }
        guard let count = bytes.littleEndian(UInt16.self, at: end + 10),
              let size = bytes.littleEndian(UInt32.self, at: end + 12),
              let offset = bytes.littleEndian(UInt32.self, at: end + 16)
        else { throw corrupt("the end-of-directory record is malformed") }
        return (Int(offset), Int(size), Int(count))
    }

    /// The 64-bit values of the ZIP64 extra field (ID 1) among an entry's extra fields.
    private static func zip64Fields(in extra: UnsafeRawBufferPointer) -> ArraySlice<UInt64> {
        var position = 0
        while let id = extra.littleEndian(UInt16.self, at: position),
              let length = extra.littleEndian(UInt16.self, at: position + 2).map(Int.init) {
            let data = position + 4
            guard length <= extra.count - data else { break }
            if id == zip64ExtraID {
                return ArraySlice(stride(from: data, through: data + length - 8, by: 8).compactMap {
                    extra.littleEndian(UInt64.self, at: $0)
                })
            }
            position = data + length
        }
        return []
    }
}

extension UnsafeRawBufferPointer {
    /// The little-endian integer at `offset`, or nil when it does not lie wholly inside the buffer.
    func littleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
