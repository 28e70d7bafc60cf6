import Foundation
import ZenText

/// A failure that is the input's fault, reported without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A failure tied to one line of an input file, reported as `PATH line N: …`.
struct InputLineError: Error, CustomStringConvertible {
    let path: String
    let line: Int
    let message: String
    var description: String { "\(path) line \(line): \(message)" }
}

/// One line of a JSON Lines file: its 1-based number in the file, its 0-based index among the
/// non-blank lines (the example's position), and its bytes.
typealias JSONLine = (number: Int, index: Int, data: Data)

/// The non-blank lines of a JSON Lines file, each checked to be UTF-8.
func readJSONLines(_ path: String) throws -> [JSONLine] {
    let bytes: Data
    do {
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CLIError("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? error.localizedDescription : "no such file")")
    }
    var lines: [JSONLine] = []
    for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        guard String(validating: line, as: UTF8.self) != nil else {
            throw InputLineError(path: path, line: index + 1, message: "invalid UTF-8")
        }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
        lines.append((index + 1, lines.count, Data(line)))
    }
    return lines
}

/// Decodes one JSON line, turning decoding failures into messages that name the field.
func decodeLine<T: Decodable>(_ type: T.Type, _ line: JSONLine, path: String) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: replacingLoneSurrogateEscapes(line.data))
    } catch let error as DecodingError {
        let message: String
        switch error {
        case .keyNotFound(let key, _):
            message = "missing field \"\(key.stringValue)\""
        case .typeMismatch(let expected, let context), .valueNotFound(let expected, let context):
            message = "field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" must be \(expected == String.self ? "a string" : "\(expected)")"
        case .dataCorrupted:
            message = "not a valid JSON object"
        @unknown default:
            message = "\(error)"
        }
        throw InputLineError(path: path, line: line.number, message: message)
    }
}

/// Python's `json` reads a lone surrogate escape (`"\ud800"`) into a string, and the reference
/// tokenizer then drops it as a control character; Foundation refuses the whole line. Rewriting
/// each lone surrogate to U+FFFD, which the tokenizer drops too, keeps such lines and their tokens.
func replacingLoneSurrogateEscapes(_ json: Data) -> Data {
    guard json.contains(UInt8(ascii: "\\")) else { return json }
    let bytes = [UInt8](json)
    func codeUnit(at index: Int) -> UInt16? {
        guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
              let text = String(bytes: bytes[(index + 2)..<(index + 6)], encoding: .ascii) else { return nil }
        return UInt16(text, radix: 16)
    }
    func isHigh(_ unit: UInt16?) -> Bool { unit.map { (0xD800...0xDBFF).contains($0) } ?? false }
    func isLow(_ unit: UInt16?) -> Bool { unit.map { (0xDC00...0xDFFF).contains($0) } ?? false }

    var output: [UInt8] = []
    var index = 0
    var changed = false
    while index < bytes.count {
        guard bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count else {
            output.append(bytes[index])
            index += 1
            continue
        }
        let unit = codeUnit(at: index)
        if isHigh(unit), isLow(codeUnit(at: index + 6)) {
            output.append(contentsOf: bytes[index..<(index + 12)])
            index += 12
        } else if isHigh(unit) || isLow(unit) {
            output.append(contentsOf: Array(#"\ufffd"#.utf8))
            index += 6
            changed = true
        } else {
            output.append(contentsOf: bytes[index...(index + 1)])   // any other escape, kept whole
            index += 2
        }
    }
    return changed ? Data(output) : json
}

/// Any JSON value, for fields such as `id` that are copied from input to output untouched.
enum JSONValue: Decodable, Sendable {
    case null, bool(Bool), integer(Int64), number(Double), string(String)
    case array([JSONValue]), object([(String, JSONValue)])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else {
            let object = try decoder.container(keyedBy: AnyKey.self)
            self = .object(try object.allKeys.map { ($0.stringValue, try object.decode(JSONValue.self, forKey: $0)) })
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var json: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .number(let value): return "\(value)"
        case .string(let value): return jsonString(value)
        case .array(let values): return "[" + values.map(\.json).joined(separator: ",") + "]"
        case .object(let fields): return "{" + fields.map { jsonString($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}"
        }
    }
}

/// A JSON string literal; non-ASCII text is written as UTF-8, as `ensure_ascii=False` would.
func jsonString(_ text: String) -> String {
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// One output line, built field by field in a fixed order.
struct JSONObjectBuilder {
    private var fields: [String] = []

    mutating func add(_ name: String, raw json: String) { fields.append(jsonString(name) + ":" + json) }
    mutating func add(_ name: String, _ values: [Int32]) { add(name, raw: "[" + values.map(String.init).joined(separator: ",") + "]") }
    mutating func add(_ name: String, _ values: [Int64]) { add(name, raw: "[" + values.map(String.init).joined(separator: ",") + "]") }
    mutating func add(_ name: String, _ values: [String]) { add(name, raw: "[" + values.map(jsonString).joined(separator: ",") + "]") }
    mutating func add(_ name: String, _ values: [Float]) { add(name, raw: jsonArray(values)) }
    mutating func add(_ name: String, _ rows: [[Float]]) { add(name, raw: "[" + rows.map(jsonArray).joined(separator: ",") + "]") }

    var json: String { "{" + fields.joined(separator: ",") + "}" }
}

/// Floats as JSON numbers: the shortest text that reads back as the same float.
func jsonArray(_ values: [Float]) -> String {
    "[" + values.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]"
}

/// Writes `lines` to `path` all at once: into a temporary file beside it, renamed over `path`
/// only when complete, so a failed run never leaves a partial file that looks finished.
func writeAtomically(_ lines: [String], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial")
    var text = lines.joined(separator: "\n")
    if !lines.isEmpty { text += "\n" }
    do {
        try Data(text.utf8).write(to: temporary)
        // rename(2) replaces an existing file atomically: readers see the old file or the new one.
        guard rename(temporary.path, path) == 0 else {
            throw CLIError(String(cString: strerror(errno)))
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw CLIError("cannot write \(path): \((error as? CLIError)?.description ?? error.localizedDescription)")
    }
}
