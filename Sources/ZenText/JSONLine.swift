import Foundation

/// One non-blank line of a JSON Lines file (from `TextFile.jsonLines`).
public struct JSONLine: Sendable {
    /// The file as messages name it.
    public var path: String
    /// 1-based, counting every line of the file.
    public var number: Int
    /// 0-based among the non-blank lines: the example's position.
    public var index: Int
    public var text: String

    public init(path: String, number: Int, index: Int, text: String) {
        (self.path, self.number, self.index, self.text) = (path, number, index, text)
    }

    /// An error about this line: `PATH line N: reason`.
    public func failure(_ reason: String) -> TextError { .invalidLine(path: path, line: number, reason: reason) }

    /// Decodes the line, turning decoding failures into messages that name the field.
    public func decode<T: Decodable>(_ type: T.Type) throws(TextError) -> T {
        do {
            return try JSONDecoder().decode(type, from: replacingLoneSurrogateEscapes(Data(text.utf8)))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, _):
                throw failure("missing field \"\(key.stringValue)\"")
            case .typeMismatch(_, let context) where context.codingPath.isEmpty:
                throw failure("not a JSON object")
            case .typeMismatch(let expected, let context), .valueNotFound(let expected, let context):
                let field = context.codingPath.map(\.stringValue).joined(separator: ".")
                throw failure("field \"\(field)\" must be \(expected == String.self ? "a string" : "\(expected)")")
            case .dataCorrupted:
                throw failure("not a valid JSON object")
            @unknown default:
                throw failure("\(error)")
            }
        } catch {
            throw failure("\(error)")
        }
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
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), integer(Int64), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
        case .string(let value): try container.encode(value)
        case .array(let values): try container.encode(values)
        case .object(let fields): try container.encode(fields)
        }
    }

    /// The value as text: a string as itself, null as nil, anything else as its JSON.
    public var text: String? {
        switch self {
        case .null: return nil
        case .string(let value): return value
        default: return String(decoding: (try? JSONOutput.encode(self)) ?? Data(), as: UTF8.self)
        }
    }
}
