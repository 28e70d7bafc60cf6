import Foundation
import ZenModel

/// Where a fine-tuning run stands, saved in each checkpoint so that `--resume` continues it exactly.
public struct TrainingState: RunState, Equatable {
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

/// A file's size and its CRC-32: enough to tell that a file is not the one that was recorded (a
/// part of another save, a truncated or damaged copy). It guards against accidents, not forgery;
/// it is the checksum the loader checks ZIP entries with, and reads a checkpoint of gigabytes in
/// a fraction of the time the disk takes.
public struct FileDigest: Codable, Sendable, Equatable {
    public var bytes: Int
    /// The CRC-32 of the file (as ZIP and `crc32` compute it), 8 hexadecimal digits.
    public var digest: String

    public init(of path: String) throws {
        let file = try MappedFile(path: path)
        bytes = file.bytes.count
        let hex = String(CRC32.checksum(file.bytes).crc, radix: 16)
        digest = String(repeating: "0", count: 8 - hex.count) + hex
    }
}
