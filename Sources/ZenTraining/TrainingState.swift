import Foundation
import ZenModel

/// Where a run stands, saved in each checkpoint so that `--resume` continues it exactly.
public struct TrainingState: Codable, Sendable, Equatable {
    public var step: Int
    public var options: FineTuningOptions
    public var task: String
    public var labels: [String]
    public var weighting: String
    public var maxSeqLength: Int
    /// The best dev metric so far and the step it was reached at.
    public var bestMetric: Double?
    public var bestStep: Int?
    /// The other files of the checkpoint, by name, as they were saved with this state.
    public var files: [String: FileDigest] = [:]

    public init(step: Int, options: FineTuningOptions, task: String, labels: [String], weighting: String, maxSeqLength: Int,
                bestMetric: Double?, bestStep: Int?) {
        (self.step, self.options, self.task, self.labels, self.weighting) = (step, options, task, labels, weighting)
        (self.maxSeqLength, self.bestMetric, self.bestStep) = (maxSeqLength, bestMetric, bestStep)
    }
}

/// A file's size and its XXH64 digest: enough to tell that a file is not the one that was
/// recorded (a part of another save, a truncated or damaged copy). It guards against accidents,
/// not forgery, and reads a checkpoint of gigabytes in about the time the disk takes.
public struct FileDigest: Codable, Sendable, Equatable {
    public var bytes: Int
    /// XXH64 (seed 0) of the file, 16 hexadecimal digits, as `xxhsum -H1` prints it.
    public var digest: String

    public init(of path: String) throws {
        let file = try MappedFile(path: path)
        bytes = file.bytes.count
        let hex = String(Self.xxh64(file.bytes), radix: 16)
        digest = String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// XXH64 with seed 0, as its specification (xxhash.com) defines it.
    static func xxh64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let (p1, p2, p3, p4, p5): (UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0x9E37_79B1_85EB_CA87, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x85EB_CA77_C2B2_AE63, 0x27D4_EB2F_1656_67C5)
        func rotate(_ x: UInt64, _ bits: UInt64) -> UInt64 { (x &<< bits) | (x &>> (64 - bits)) }
        func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 { rotate(accumulator &+ input &* p2, 31) &* p1 }
        func merge(_ hash: UInt64, _ accumulator: UInt64) -> UInt64 { (hash ^ round(0, accumulator)) &* p1 &+ p4 }
        func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }

        var offset = 0, hash: UInt64
        if bytes.count >= 32 {
            var lanes = (p1 &+ p2, p2, UInt64(0), 0 &- p1)
            while offset + 32 <= bytes.count {
                lanes = (round(lanes.0, word(offset)), round(lanes.1, word(offset + 8)),
                         round(lanes.2, word(offset + 16)), round(lanes.3, word(offset + 24)))
                offset += 32
            }
            hash = rotate(lanes.0, 1) &+ rotate(lanes.1, 7) &+ rotate(lanes.2, 12) &+ rotate(lanes.3, 18)
            hash = merge(merge(merge(merge(hash, lanes.0), lanes.1), lanes.2), lanes.3)
        } else {
            hash = p5
        }
        hash &+= UInt64(bytes.count)
        while offset + 8 <= bytes.count {
            hash = rotate(hash ^ round(0, word(offset)), 27) &* p1 &+ p4
            offset += 8
        }
        if offset + 4 <= bytes.count {
            hash = rotate(hash ^ UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) &* p1, 23) &* p2 &+ p3
            offset += 4
        }
        while offset < bytes.count {
            hash = rotate(hash ^ UInt64(bytes[offset]) &* p5, 11) &* p1
            offset += 1
        }
        hash = (hash ^ (hash >> 33)) &* p2
        hash = (hash ^ (hash >> 29)) &* p3
        return hash ^ (hash >> 32)
    }
}
