import Foundation
@testable import ZenModel

// Checkpoints built byte by byte, as torch and ZIP write them, for the loader tests.

/// Memory that tensors read from it keep alive, as they keep a `MappedFile` alive.
final class Buffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(_ contents: [UInt8]) {
        bytes = .allocate(byteCount: max(contents.count, 1), alignment: 16)
        bytes.copyBytes(from: contents)
    }

    deinit { bytes.deallocate() }
}

func bytes<T>(of values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}

/// Pickle opcodes, as Python writes them.
enum Pickle {
    static let proto: [UInt8] = [0x80, 2]
    static let reduce: [UInt8] = [0x52]
    static let stop: [UInt8] = [0x2E]

    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func string(_ text: String) -> [UInt8] { [0x58] + bytes(of: [UInt32(text.utf8.count)]) + Array(text.utf8) }
    /// BININT, or LONG1 beyond 32 bits.
    static func int(_ value: Int) -> [UInt8] {
        Int32(exactly: value).map { [0x4A] + bytes(of: [$0]) } ?? [0x8A, 8] + bytes(of: [Int64(value)])
    }
    static func tuple(_ items: [UInt8]...) -> [UInt8] { [0x28] + items.joined() + [0x74] }
    static func tuple(ints: [Int]) -> [UInt8] { [0x28] + ints.flatMap(int) + [0x74] }
    static let orderedDict = global("collections", "OrderedDict") + [0x29] + reduce
}

/// A state dict pickled the way `torch.save` pickles one (zip format persistent ids).
struct StateDict {
    private var items: [UInt8] = []

    mutating func item(_ name: String, _ value: [UInt8]) {
        items += Pickle.string(name) + value
    }

    mutating func tensor(_ name: String, storage: String, key: String, count: Int, offset: Int = 0,
                         shape: [Int], strides: [Int], parameter: Bool = false) {
        let persistentID = Pickle.tuple(Pickle.string("storage"), Pickle.global("torch", storage), Pickle.string(key),
                                        Pickle.string("cpu"), Pickle.int(count)) + [0x51]
        var tensor = Pickle.global("torch._utils", "_rebuild_tensor_v2")
            + Pickle.tuple(persistentID, Pickle.int(offset), Pickle.tuple(ints: shape), Pickle.tuple(ints: strides),
                           [0x89], Pickle.orderedDict) + Pickle.reduce
        if parameter {
            tensor = Pickle.global("torch._utils", "_rebuild_parameter") + Pickle.tuple(tensor, [0x88], Pickle.orderedDict) + Pickle.reduce
        }
        item(name, tensor)
    }

    /// OrderedDict() filled by SETITEMS, then (as torch does) BUILD with the `_metadata` attribute.
    func pickle(withMetadata: Bool = false) -> [UInt8] {
        let metadata: [UInt8] = withMetadata ? [0x7D] + Pickle.string("_metadata") + [0x7D, 0x73, 0x62] : []
        return Pickle.proto + Pickle.orderedDict + [0x28] + items + [0x75] + metadata + Pickle.stop
    }
}

/// A ZIP archive of stored entries with their CRC-32s, optionally with every size and offset in ZIP64 fields.
func zipArchive(_ entries: [(name: String, data: [UInt8])], zip64: Bool = false, method: UInt16 = 0) -> [UInt8] {
    func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { bytes(of: [value.littleEndian]) }
    let wide: UInt32 = 0xFFFF_FFFF
    var archive: [UInt8] = []
    var directory: [UInt8] = []
    for (name, data) in entries {
        let offset = archive.count
        let size = zip64 ? wide : UInt32(data.count)
        let crc = data.withUnsafeBytes { CRC32.checksum($0).crc }
        archive += le(UInt32(0x0403_4b50)) + le(UInt16(45)) + le(UInt16(0)) + le(method) + le(UInt32(0)) + le(crc)
            + le(size) + le(size) + le(UInt16(name.utf8.count)) + le(UInt16(0)) + Array(name.utf8) + data
        let extra = zip64 ? le(UInt16(1)) + le(UInt16(24)) + le(UInt64(data.count)) + le(UInt64(data.count)) + le(UInt64(offset)) : []
        directory += le(UInt32(0x0201_4b50)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt16(0)) + le(method)
            + le(UInt32(0)) + le(crc) + le(size) + le(size) + le(UInt16(name.utf8.count)) + le(UInt16(extra.count))
            + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt32(0)) + le(zip64 ? wide : UInt32(offset))
            + Array(name.utf8) + extra
    }
    let directoryOffset = archive.count
    archive += directory
    if zip64 {
        let record = archive.count
        archive += le(UInt32(0x0606_4b50)) + le(UInt64(44)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt32(0)) + le(UInt32(0))
            + le(UInt64(entries.count)) + le(UInt64(entries.count)) + le(UInt64(directory.count)) + le(UInt64(directoryOffset))
        archive += le(UInt32(0x0706_4b50)) + le(UInt32(0)) + le(UInt64(record)) + le(UInt32(1))
        archive += le(UInt32(0x0605_4b50)) + le(UInt32(0)) + le(UInt16(0xFFFF)) + le(UInt16(0xFFFF)) + le(wide) + le(wide) + le(UInt16(0))
    } else {
        archive += le(UInt32(0x0605_4b50)) + le(UInt32(0)) + le(UInt16(entries.count)) + le(UInt16(entries.count))
            + le(UInt32(directory.count)) + le(UInt32(directoryOffset)) + le(UInt16(0))
    }
    return archive
}

/// The offset of the central directory record of `name` in a ZIP archive (searched from the
/// end, where the central directory is).
func centralDirectoryEntry(named name: String, in archive: [UInt8]) -> Int? {
    archive.indices.dropLast(46).reversed().first { position in
        archive.load(UInt32.self, at: position) == 0x0201_4b50
            && Int(archive.load(UInt16.self, at: position + 28)) == name.utf8.count
            && archive[(position + 46)...].starts(with: name.utf8)
    }
}

extension [UInt8] {
    func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }
}
