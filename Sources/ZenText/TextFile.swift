import Foundation

/// Reads a UTF-8 text file into lines the way Python's `open(path, encoding="utf-8")` iterates it,
/// because both `vocab.txt` ids and `ngram.txt` ids are line numbers in the reference:
/// universal newlines (`\n`, `\r\n` and a lone `\r` all end a line), no line after a final
/// terminator, a byte-order mark kept as part of the first line.
enum TextFile {
    static func lines(at path: String) throws(TextError) -> [String] {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw .unreadableFile(path: path, reason: Self.reason(error, path: path))
        }
        return try lines(of: bytes, path: path)
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

    private static func reason(_ error: Error, path: String) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        return (error as NSError).localizedDescription
    }
}
