import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one reader of the project's text inputs: vocabularies, lexicons, data sets, JSON Lines.
/// `-` is standard input; a FIFO, `/dev/stdin` or any other stream is read to its end.
///
/// Lines are split the way Python's `open(path, encoding="utf-8")` iterates a file, because both
/// `vocab.txt` ids and `ngram.txt` ids are line numbers in the reference: universal newlines
/// (`\n`, `\r\n` and a lone `\r` all end a line), no line after a final terminator, a
/// byte-order mark kept as part of the first line. Each line is checked to be UTF-8.
public enum TextFile {
    /// How messages name `path`: `-` is standard input.
    public static func displayName(of path: String) -> String { path == "-" ? "standard input" : path }

    /// What a file may be.
    public enum Kind: Sendable {
        /// Data: a regular file, `-`, a FIFO, `/dev/stdin` or any other stream.
        case anyStream
        /// A model directory's file (`config.json`, `vocab.txt`, `ngram.txt`, the weights): a
        /// regular file only, since reading a FIFO would wait for a writer forever.
        case regularFile
    }

    /// Every byte of `path`.
    public static func contents(of path: String, kind: Kind = .anyStream) throws(TextError) -> Data {
        let (descriptor, info) = try openForReading(path, kind: kind)
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        // A regular file's size is known; a pipe's is not, so read until the end either way.
        var data = Data(capacity: info.st_mode & S_IFMT == S_IFREG ? Int(info.st_size) + 1 : 1 << 16)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try readSome(descriptor, into: &chunk, from: 0, path: path)
            if count == 0 { return data }
            data.append(contentsOf: chunk[..<count])
        }
    }

    /// The lines of `path`.
    public static func lines(at path: String, kind: Kind = .anyStream) throws(TextError) -> [String] {
        try lines(of: contents(of: path, kind: kind), path: displayName(of: path))
    }

    /// The size in bytes of `path` if it is a regular file, nil for a stream (`-`, a FIFO, a
    /// device); a path that cannot be read as a file is the error reading it would be.
    public static func size(of path: String) throws(TextError) -> Int? {
        guard path != "-" else { return nil }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadableFile(path: path, reason: reason(errno)) }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw .unreadableFile(path: path, reason: "it is a directory") }
        return info.st_mode & S_IFMT == S_IFREG ? Int(info.st_size) : nil
    }

    /// The lines of `path` (split and checked as `lines(at:)` splits them), handed to `body` a
    /// block at a time, so that a file larger than memory can be read: each block is whole lines
    /// of about `blockBytes` bytes (a longer line is a block of its own). `body` gets the block,
    /// the 1-based number of its first line, and the bytes of the file read so far.
    public static func forEachBlock(at path: String, blockBytes: Int = 1 << 22,
                                    _ body: (_ lines: [String], _ firstLine: Int, _ bytesRead: Int) throws -> Void) throws {
        let (descriptor, _) = try openForReading(path, kind: .anyStream)
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        let name = displayName(of: path)
        var buffer = [UInt8](repeating: 0, count: max(blockBytes, 1))
        var filled = 0, bytesRead = 0, nextLine = 1
        var atEnd = false
        while !atEnd {
            if filled == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }   // a line longer than a block
            let count = try readSome(descriptor, into: &buffer, from: filled, path: path)
            filled += count
            bytesRead += count
            atEnd = count == 0
            guard atEnd || filled == buffer.count else { continue }
            // Hand over the whole lines read; a `\r` last in the buffer may be the first half of a `\r\n`.
            let end = atEnd ? filled : buffer.withUnsafeBufferPointer { wholeLinesEnd(UnsafeBufferPointer(rebasing: $0[..<filled])) }
            guard end > 0 else { continue }
            var lines: [String] = []
            if let failed = buffer.withUnsafeBufferPointer({ appendLines(of: UnsafeBufferPointer(rebasing: $0[..<end]), to: &lines) }) {
                throw TextError.invalidUTF8(path: name, line: nextLine + failed)
            }
            try body(lines, nextLine, bytesRead - (filled - end))
            nextLine += lines.count
            filled -= end
            buffer.withUnsafeMutableBytes { _ = memmove($0.baseAddress!, $0.baseAddress! + end, filled) }
        }
    }

    /// Opens `path` for reading, refusing a directory, and what `kind` refuses.
    private static func openForReading(_ path: String, kind: Kind) throws(TextError) -> (descriptor: Int32, info: stat) {
        let name = displayName(of: path)
        // Opened without blocking, so that a FIFO can be refused before anything waits on it.
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | (kind == .regularFile ? O_NONBLOCK : 0))
        guard descriptor >= 0 else { throw .unreadableFile(path: name, reason: reason(errno)) }
        var info = stat()
        do throws(TextError) {
            guard fstat(descriptor, &info) == 0 else { throw TextError.unreadableFile(path: name, reason: reason(errno)) }
            guard info.st_mode & S_IFMT != S_IFDIR else { throw TextError.unreadableFile(path: name, reason: "it is a directory") }
            if kind == .regularFile, let special = specialFileKind(info.st_mode) {
                throw TextError.unreadableFile(path: name, reason: "it is \(special), not a regular file; a model directory's files must be regular files")
            }
        } catch {
            if descriptor != STDIN_FILENO { close(descriptor) }
            throw error
        }
        return (descriptor, info)
    }

    /// One read(2) into `buffer` from `offset` on, retried when interrupted: the bytes read, 0 at the end.
    private static func readSome(_ descriptor: Int32, into buffer: inout [UInt8], from offset: Int, path: String) throws(TextError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count >= 0 { return count }
            if errno != EINTR { throw .unreadableFile(path: displayName(of: path), reason: reason(errno)) }
        }
    }

    /// What a file that is not regular is, for messages: "a named pipe (FIFO)", …; nil for a
    /// regular file.
    public static func specialFileKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe (FIFO)"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "a special file"
        }
    }

    /// The non-blank lines of a JSON Lines (or plain text) file, numbered.
    public static func jsonLines(at path: String) throws(TextError) -> [JSONLine] {
        let name = displayName(of: path)
        var result: [JSONLine] = []
        for (offset, line) in try lines(at: path).enumerated()
        where !line.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\t" }) {
            result.append(JSONLine(path: name, number: offset + 1, index: result.count, text: line))
        }
        return result
    }

    static func lines(of bytes: Data, path: String) throws(TextError) -> [String] {
        var lines: [String] = []
        if let failed = bytes.withUnsafeBytes({ appendLines(of: $0.bindMemory(to: UInt8.self), to: &lines) }) {
            throw .invalidUTF8(path: path, line: 1 + failed)
        }
        return lines
    }

    /// Splits `bytes` into lines (universal newlines; the last line needs no terminator) and
    /// appends them. Stops at a line that is not UTF-8 and returns its index among `bytes`' lines.
    private static func appendLines(of bytes: UnsafeBufferPointer<UInt8>, to lines: inout [String]) -> Int? {
        let first = lines.count
        var start = 0, index = 0
        func emit(upTo end: Int) -> Bool {
            guard let line = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) else { return false }
            lines.append(line)
            return true
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A || byte == 0x0D {
                guard emit(upTo: index) else { return lines.count - first }
                index += (byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A) ? 2 : 1
                start = index
            } else {
                index += 1
            }
        }
        if start < bytes.count, !emit(upTo: bytes.count) { return lines.count - first }
        return nil
    }

    /// Where the last whole line of `bytes` ends (after its terminator), when more bytes follow:
    /// a `\r` at the very end is not taken, since a `\n` may come next and belong to it.
    private static func wholeLinesEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var index = bytes.count - 1
        if index >= 0, bytes[index] == 0x0D { index -= 1 }
        while index >= 0, bytes[index] != 0x0A, bytes[index] != 0x0D { index -= 1 }
        return index + 1
    }

    private static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "it is a directory"
        case ENOTDIR: return "a component of the path is not a directory"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
