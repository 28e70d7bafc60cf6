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
        let name = displayName(of: path)
        // Opened without blocking, so that a FIFO can be refused before anything waits on it.
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | (kind == .regularFile ? O_NONBLOCK : 0))
        guard descriptor >= 0 else { throw .unreadableFile(path: name, reason: reason(errno)) }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .unreadableFile(path: name, reason: reason(errno)) }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw .unreadableFile(path: name, reason: "it is a directory") }
        if kind == .regularFile, let special = specialFileKind(info.st_mode) {
            throw .unreadableFile(path: name, reason: "it is \(special), not a regular file; a model directory's files must be regular files")
        }
        // A regular file's size is known; a pipe's is not, so read until the end either way.
        var data = Data(capacity: info.st_mode & S_IFMT == S_IFREG ? Int(info.st_size) + 1 : 1 << 16)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if count == 0 { return data }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: name, reason: reason(errno))
            }
            data.append(contentsOf: chunk[..<count])
        }
    }

    /// The lines of `path`.
    public static func lines(at path: String, kind: Kind = .anyStream) throws(TextError) -> [String] {
        try lines(of: contents(of: path, kind: kind), path: displayName(of: path))
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
        var failedLine: Int?
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let buffer = raw.bindMemory(to: UInt8.self)
            var start = 0
            var index = 0
            func emit(upTo end: Int) -> Bool {
                guard let line = String(validating: buffer[start..<end], as: UTF8.self) else {
                    failedLine = lines.count + 1
                    return false
                }
                lines.append(line)
                return true
            }
            while index < buffer.count {
                let byte = buffer[index]
                if byte == 0x0A || byte == 0x0D {
                    guard emit(upTo: index) else { return }
                    index += (byte == 0x0D && index + 1 < buffer.count && buffer[index + 1] == 0x0A) ? 2 : 1
                    start = index
                } else {
                    index += 1
                }
            }
            if start < buffer.count { _ = emit(upTo: buffer.count) }
        }
        if let failedLine { throw .invalidUTF8(path: path, line: failedLine) }
        return lines
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
