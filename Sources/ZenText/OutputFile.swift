import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way the project writes a file: results, checkpoints, configs.
///
/// - `-` is standard output.
/// - Symbolic links are written through: the link (or chain of links, also one whose target does
///   not exist yet) is followed, and the link stays a link.
/// - A regular file (or a new one) is written to a temporary file beside it, flushed to disk, and
///   renamed over it only when complete: readers see the old file or the new one, never a part,
///   and a failure leaves the old file untouched and no temporary file behind.
/// - Anything else that exists is never replaced: a character device or a FIFO (`/dev/null`,
///   `/dev/stdout`, a named pipe) is written into directly, a directory is an error.
///
/// Failures of the file system are `OutputError`s, which name the path and say what to do.
public enum OutputFile {
    /// Streams what `body` writes to `path`; `body`'s own errors are rethrown as they are, after
    /// the temporary file is removed. The sink is valid only inside `body`.
    public static func write<Result>(to path: String, _ body: (OutputSink) throws -> Result) throws -> Result {
        if path == "-" {
            return try body(OutputSink(descriptor: STDOUT_FILENO, path: displayName(of: path), buffered: false))
        }
        guard !path.isEmpty else { throw OutputError(path: path, reason: .emptyPath) }
        let target = try resolvingLinks(path)
        var info = stat()
        if lstat(target, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG: return try replace(target, shownAs: path, mode: info.st_mode & 0o7777, body)
            case S_IFDIR: throw OutputError(path: path, reason: .isDirectory)
            default: return try writeInPlace(target, shownAs: path, body)
            }
        }
        guard errno == ENOENT else { throw OutputError(path: path, errno: errno, directory: directory(of: target)) }
        return try replace(target, shownAs: path, mode: nil, body)
    }

    /// Writes `data` to `path` (see `write(to:_:)`).
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { try $0.write(data) }
    }

    /// How messages name `path`: `-` is standard output.
    public static func displayName(of path: String) -> String { path == "-" ? "standard output" : path }

    /// `path` with its symbolic links followed, down to what is not a link (or does not exist).
    static func resolvingLinks(_ path: String) throws(OutputError) -> String {
        var current = path
        for _ in 0..<40 {   // the kernel's own limit on links in a path
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            var bytes = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(current, &bytes, bytes.count - 1)
            guard count >= 0 else { throw OutputError(path: path, errno: errno, directory: directory(of: current)) }
            let target = String(decoding: bytes[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : directoryPrefix(of: current) + target
        }
        throw OutputError(path: path, reason: .tooManyLinks)
    }

    /// Through a temporary file beside `target`, renamed over it when complete.
    private static func replace<Result>(_ target: String, shownAs path: String, mode: mode_t?,
                                        _ body: (OutputSink) throws -> Result) throws -> Result {
        let (temporary, descriptor) = try createTemporary(beside: target, shownAs: path)
        var renamed = false
        defer {
            close(descriptor)
            if !renamed { unlink(temporary) }
        }
        // A replaced file keeps its permissions; a new one gets the umask's, as open(2) gives them.
        if let mode { fchmod(descriptor, mode) }
        let sink = OutputSink(descriptor: descriptor, path: path, buffered: true)
        let result = try body(sink)
        try sink.flush()
        guard fsync(descriptor) == 0 else { throw OutputError(path: path, errno: errno, directory: directory(of: target)) }
        guard rename(temporary, target) == 0 else { throw OutputError(path: path, errno: errno, directory: directory(of: target)) }
        renamed = true
        syncDirectory(directory(of: target))
        return result
    }

    /// Makes the renames in `directory` durable (a file system that cannot sync a directory has
    /// nothing to flush).
    public static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// Into an existing device or FIFO, which a rename would replace instead of writing to.
    private static func writeInPlace<Result>(_ target: String, shownAs path: String,
                                             _ body: (OutputSink) throws -> Result) throws -> Result {
        let descriptor = open(target, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw OutputError(path: path, errno: errno, directory: directory(of: target)) }
        defer { close(descriptor) }
        return try body(OutputSink(descriptor: descriptor, path: path, buffered: false))
    }

    private static func createTemporary(beside target: String, shownAs path: String) throws(OutputError) -> (String, Int32) {
        let prefix = directoryPrefix(of: target) + "." + (target.split(separator: "/").last.map(String.init) ?? "") + "."
        while true {
            let temporary = prefix + String(UInt32.random(in: .min ... .max), radix: 36) + ".partial"
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 { return (temporary, descriptor) }
            guard errno == EEXIST else { throw OutputError(path: path, errno: errno, directory: directory(of: target)) }
        }
    }

    /// The directory part of `path` with its slash (`out/` of `out/x.jsonl`), empty for a bare name.
    private static func directoryPrefix(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
    }

    /// The directory `path` is in, as messages name it.
    private static func directory(of path: String) -> String {
        let prefix = directoryPrefix(of: path)
        return prefix.isEmpty ? "." : prefix == "/" ? "/" : String(prefix.dropLast())
    }
}

/// Where `OutputFile.write` sends bytes. Into a file, buffered, so that many small writes (one
/// JSON line at a time) cost few system calls, while large ones (tensor data) go straight
/// through; into a stream (standard output, a pipe), each write at once, so that a reader gets
/// every line as soon as it is done.
public final class OutputSink {
    private let descriptor: Int32
    private let path: String
    private let bufferSize: Int
    private var buffer: [UInt8] = []

    init(descriptor: Int32, path: String, buffered: Bool) {
        (self.descriptor, self.path, bufferSize) = (descriptor, path, buffered ? 1 << 16 : 0)
        buffer.reserveCapacity(bufferSize)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > bufferSize { try flush() }
        if bytes.count >= bufferSize {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            #else
            let written = Darwin.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            #endif
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError(path: path, errno: errno, directory: nil)
            }
            offset += written
        }
    }
}

/// Why a file could not be written, and what to do about it.
public struct OutputError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case missingDirectory(String)
        case notADirectory(String)
        case permissionDenied
        case readOnly
        case noSpace
        case isDirectory
        case tooManyLinks
        case emptyPath
        case other(String)
    }

    public var path: String
    public var reason: Reason
    /// The command-line option that named the path (`--output`), for the advice.
    public var option: String?

    public init(path: String, reason: Reason, option: String? = nil) {
        (self.path, self.reason, self.option) = (path, reason, option)
    }

    init(path: String, errno code: Int32, directory: String?) {
        let reason: Reason
        switch (code, directory) {
        case (ENOENT, let directory?): reason = .missingDirectory(directory)
        case (ENOTDIR, let directory?): reason = .notADirectory(directory)
        case (EACCES, _), (EPERM, _): reason = .permissionDenied
        case (EROFS, _): reason = .readOnly
        case (ENOSPC, _), (EDQUOT, _): reason = .noSpace
        case (EISDIR, _): reason = .isDirectory
        case (ELOOP, _): reason = .tooManyLinks
        default: reason = .other(String(cString: strerror(code)).lowercased())
        }
        self.init(path: path, reason: reason)
    }

    /// The same error, its advice naming `option`.
    public func naming(_ option: String) -> OutputError { OutputError(path: path, reason: reason, option: option) }

    public var description: String {
        let another = "choose another " + (option ?? "path")
        let why: String
        switch reason {
        case .missingDirectory(let directory): why = "the directory \(directory) does not exist; create it or \(another)"
        case .notADirectory(let directory): why = "\(directory) is not a directory; \(another)"
        case .permissionDenied: why = "permission denied; \(another) or make its directory writable"
        case .readOnly: why = "the file system is read-only; \(another)"
        case .noSpace: why = "no space left on the device; free some space or \(another)"
        case .isDirectory: why = "it is a directory; name a file (inside it, or elsewhere)"
        case .tooManyLinks: why = "too many levels of symbolic links; \(another)"
        case .emptyPath: return "cannot write to an empty path; name a file" + (option.map { " with \($0)" } ?? "")
        case .other(let text): why = text
        }
        return "cannot write \(OutputFile.displayName(of: path)): \(why)"
    }
}
