import CZenKernels
import Foundation

/// How many threads compute uses: the width of `parallelFor`. Set it once, before work starts
/// (e.g. from a command-line flag).
///
/// All parallelism is ours: the GEMM engine runs single-threaded inside our tasks. A second
/// pool (OpenMP's) would spin-wait between calls, and next to our parallel attention a spinning
/// pool took a fifth of the CPU.
public enum ComputeThreads {
    nonisolated(unsafe) public private(set) static var count = ProcessInfo.processInfo.activeProcessorCount
    private static let retainFreedMemory: Void = {
        // Activations are allocated and freed layer after layer in blocks of megabytes; glibc
        // would hand each back to the kernel and fault it in again, zeroed, a few GEMMs later.
        zen_retain_freed_memory()
    }()

    public static func set(_ threads: Int) {
        precondition(threads >= 1, "at least one thread")
        count = threads
        retainFreedMemory
    }

    /// Called before parallel work, so that freed memory is retained even if `set` never was.
    static func prepare() { retainFreedMemory }
}

/// Runs `body` for every index in `0..<count` on `ComputeThreads.count` threads, each taking
/// every n-th index; returns when all are done.
public func parallelFor(_ count: Int, _ body: @Sendable (Int) -> Void) {
    ComputeThreads.prepare()
    let workers = min(count, ComputeThreads.count)
    guard workers > 1 else {
        for index in 0..<count { body(index) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        for index in stride(from: worker, to: count, by: workers) { body(index) }
    }
}

/// A mutable pointer that parallel tasks may share because each writes its own part.
public struct UnsafeSendablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Pointee>
    public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}

/// Runs `body` on `0..<count` cut into one contiguous range per compute thread, or on the whole
/// range at once when there are fewer than `grain` items.
public func parallelRanges(_ count: Int, grain: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let parts = count < grain ? 1 : min(ComputeThreads.count, count)
    let size = (count + parts - 1) / max(parts, 1)
    parallelFor(parts) { part in
        let range = min(count, part * size)..<min(count, (part + 1) * size)
        if !range.isEmpty { body(range) }
    }
}
