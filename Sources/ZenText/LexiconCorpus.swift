import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `LexiconBuilder.build` reports after each block: bytes done and in all, over the passes.
typealias LexiconProgress = (_ done: Int, _ total: Int) -> Void

/// The corpus of a lexicon build, read once per pass, a block at a time, never whole.
///
/// The first pass reads the text (files, standard input, pipes) and tokenizes it. It also writes
/// every line's token ids, then -1, to a scratch file, which the later passes read instead: the
/// text is read and tokenized once. The scratch file is unlinked as soon as it is created, so
/// that it goes away with the process however it ends; it takes 4 bytes a token, in `TMPDIR`.
///
/// Each block's lines are counted on `threads` threads, each into a state of its own, and the pass
/// returns them all, for the caller to sum (the lines a thread gets vary from run to run; sums do not).
final class LexiconCorpus {
    static let passes = 3
    let paths: [String]
    /// Bytes of the regular files among `paths`, what progress is measured in (streams have no size).
    let textBytes: Int
    private let threads: Int
    private let blockBytes: Int
    private let scratch: Int32
    private let scratchPath: String
    private var scratchBytes = 0

    init(paths: [String], threads: Int, blockBytes: Int) throws {
        self.paths = paths
        var bytes = 0
        for path in paths { bytes += try TextFile.size(of: path) ?? 0 }   // a missing file fails here, before any work
        textBytes = bytes
        (self.threads, self.blockBytes) = (threads, blockBytes)
        var template = Array((FileManager.default.temporaryDirectory.path + "/zen-lexicon-XXXXXX").utf8CString)
        scratch = mkstemp(&template)
        scratchPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard scratch >= 0 else {
            throw OutputError(path: scratchPath, errno: errno, directory: FileManager.default.temporaryDirectory.path).naming("TMPDIR")
        }
        unlink(scratchPath)
    }

    deinit { close(scratch) }

    /// Pass 1: tokenizes every line of the text, calls `count(&state, ids)` on it, and writes the
    /// ids to the scratch file.
    func tokenize<State>(with tokenizer: BertTokenizer, _ progress: LexiconProgress, state: () -> State,
                         _ count: @Sendable (inout State, UnsafeBufferPointer<Int32>) -> Void) throws -> [State] {
        var workers = (0..<threads).map { _ in Worker(state: state()) }
        let scratchFile = OutputSink(descriptor: scratch, path: scratchPath, buffered: true)
        var done = 0
        for path in paths {
            let size = try TextFile.size(of: path)
            try TextFile.forEachBlock(at: path, blockBytes: blockBytes) { lines, _, bytesRead in
                forEachRun(of: lines.count, &workers) { worker, run in
                    for line in lines[run] {
                        worker.pointee.ids.removeAll(keepingCapacity: true)
                        tokenizer.encode(line, into: &worker.pointee.ids)
                        worker.pointee.ids.withUnsafeBufferPointer { count(&worker.pointee.state, $0) }
                        worker.pointee.spill += worker.pointee.ids
                        worker.pointee.spill.append(-1)
                    }
                }
                do {
                    for index in workers.indices {
                        try workers[index].spill.withUnsafeBytes { try scratchFile.write($0) }
                        scratchBytes += workers[index].spill.count * MemoryLayout<Int32>.size
                        workers[index].spill.removeAll(keepingCapacity: true)
                    }
                } catch let error as OutputError {
                    throw error.naming("TMPDIR")
                }
                if size != nil { progress(done + bytesRead, Self.passes * textBytes) }
            }
            done += size ?? 0
        }
        do {
            try scratchFile.flush()
        } catch let error as OutputError {
            throw error.naming("TMPDIR")
        }
        return workers.map(\.state)
    }

    /// Pass `number` (2 or 3): calls `count(&state, ids)` on every line's token ids, read back from
    /// the scratch file.
    func reread<State>(pass number: Int, _ progress: LexiconProgress, state: () -> State,
                       _ count: @Sendable (inout State, UnsafeBufferPointer<Int32>) -> Void) throws -> [State] {
        var workers = (0..<threads).map { _ in Worker(state: state()) }
        var buffer = [Int32](repeating: 0, count: max(1, blockBytes / MemoryLayout<Int32>.size))
        var filled = 0, offset = 0
        while offset < scratchBytes {
            if filled == buffer.count { buffer += [Int32](repeating: 0, count: buffer.count) }   // a line longer than a block
            let chunk = min((buffer.count - filled) * MemoryLayout<Int32>.size, scratchBytes - offset)
            try readScratch(into: &buffer, at: filled, bytes: chunk, from: offset)
            (offset, filled) = (offset + chunk, filled + chunk / MemoryLayout<Int32>.size)
            guard let last = buffer[..<filled].lastIndex(of: -1) else { continue }
            do {
                // Every line ends with -1: line i is block[starts[i] ..< starts[i + 1] - 1].
                let block = buffer
                let starts = [0] + (0...last).lazy.filter { block[$0] == -1 }.map { $0 + 1 }
                forEachRun(of: starts.count - 1, &workers) { worker, run in
                    block.withUnsafeBufferPointer { ids in
                        for line in run {
                            count(&worker.pointee.state, UnsafeBufferPointer(rebasing: ids[starts[line]..<(starts[line + 1] - 1)]))
                        }
                    }
                }
            }
            buffer.withUnsafeMutableBufferPointer { _ = memmove($0.baseAddress!, $0.baseAddress! + last + 1, (filled - last - 1) * MemoryLayout<Int32>.size) }
            filled -= last + 1
            progress((number - 1) * textBytes + Int(Double(offset) / Double(scratchBytes) * Double(textBytes)), Self.passes * textBytes)
        }
        return workers.map(\.state)
    }

    /// Reads `bytes` bytes of the scratch file at `offset` into `buffer` from element `index` on.
    private func readScratch(into buffer: inout [Int32], at index: Int, bytes: Int, from offset: Int) throws {
        var done = 0
        while done < bytes {
            let count = buffer.withUnsafeMutableBytes {
                pread(scratch, $0.baseAddress! + index * MemoryLayout<Int32>.size + done, bytes - done, off_t(offset + done))
            }
            if count > 0 {
                done += count
            } else if count == 0 || errno != EINTR {
                throw TextError.unreadableFile(path: scratchPath, reason: count == 0 ? "it ended early" : String(cString: strerror(errno)))
            }
        }
    }

    /// Runs `body(worker, run)` over `0..<count` on `threads` threads at once, each with its own
    /// worker, taking small runs in turn until none is left: a thread the system pauses (on a busy
    /// machine) holds up the block by one run, not by its share of it.
    private func forEachRun<State>(of count: Int, _ workers: inout [Worker<State>],
                                   _ body: @Sendable (UnsafeMutablePointer<Worker<State>>, Range<Int>) -> Void) {
        let parts = min(threads, count)
        guard parts > 0 else { return }
        let run = max(1, count / (parts * 16))
        let next = Atomic<Int>(0)
        workers.withUnsafeMutableBufferPointer { workers in
            let workers = UnsafeWorkers(base: workers.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                while case let start = next.wrappingAdd(run, ordering: .relaxed).oldValue, start < count {
                    body(workers.base + part, start..<min(count, start + run))
                }
            }
        }
    }

    /// One thread's state, its token ids of the current line, and (first pass) the ids it has
    /// tokenized in the current block, for the scratch file.
    private struct Worker<State> {
        var state: State
        var ids: [Int32] = []
        var spill: [Int32] = []
    }

    /// The workers, shared with the threads of a block: each thread touches only its own.
    private struct UnsafeWorkers<State>: @unchecked Sendable {
        let base: UnsafeMutablePointer<Worker<State>>
    }
}
