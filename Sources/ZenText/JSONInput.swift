import Foundation

/// The one reader of the JSON the project is given: JSON Lines inputs, request bodies, its own
/// state files. Strict RFC 8259, where Foundation's `JSONDecoder` is lenient: a trailing comma,
/// a key given twice, a byte-order mark or anything after the value is an error that says where.
/// The one leniency is Python's: a lone surrogate escape (`"\ud800"`), which Python's `json`
/// reads and the reference tokenizer then drops as a control character, reads as U+FFFD, which
/// the tokenizer drops too, so such texts keep their tokens everywhere (command line and server).
///
/// Parsing is one linear pass into a `JSONValue`; `decode` then reads a `Decodable` from that
/// value, so a deeply nested field costs its size, not its depth squared.
public enum JSONInput {
    /// Deeper nesting than this is refused (Python's default recursion limit allows about 1,000;
    /// no input of ours needs more than a few levels).
    public static let maxDepth = 512

    /// The JSON value `data` holds.
    public static func parse(_ data: Data) throws(JSONSyntaxError) -> JSONValue {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            Result { () throws(JSONSyntaxError) in
                var parser = Parser(bytes: raw.bindMemory(to: UInt8.self))
                return try parser.document()
            }
        }.get()
    }

    /// `T` read from `data`. Throws `JSONSyntaxError` for text that is not JSON and
    /// `DecodingError` (with the field's coding path) for JSON that is not a `T`.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try T(from: JSONValueDecoder(value: parse(data), codingPath: []))
    }
}

/// Why a text is not JSON, and where: `offset` counts bytes from 0, `column` characters from 1.
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var column: Int

    public var description: String { "\(reason) at column \(column)" }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func document() throws(JSONSyntaxError) -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw failure("a byte-order mark (U+FEFF) before the value; save the text as UTF-8 without BOM")
        }
        let value = try self.value()
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected \(found) after the JSON value") }
        return value
    }

    private var found: String {
        guard index < bytes.count else { return "end of text" }
        let byte = bytes[index]
        return (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "byte 0x%02X", byte)
    }

    private func failure(_ reason: String) -> JSONSyntaxError {
        // Characters before the error, counting a cut or invalid sequence as one each.
        let column = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<min(index, bytes.count)]), as: UTF8.self).unicodeScalars.count + 1
        return JSONSyntaxError(reason: reason, offset: index, column: column)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw failure("unexpected end of text; expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try nested { (parser: inout Parser) throws(JSONSyntaxError) in try parser.object() }
        case UInt8(ascii: "["): return try nested { (parser: inout Parser) throws(JSONSyntaxError) in try parser.array() }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected \(found); expected a value")
        }
    }

    private mutating func nested(_ body: (inout Parser) throws(JSONSyntaxError) -> JSONValue) throws(JSONSyntaxError) -> JSONValue {
        guard depth < JSONInput.maxDepth else { throw failure("arrays and objects nested deeper than \(JSONInput.maxDepth) levels") }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let text = Array(word.utf8)
        guard bytes[index...].starts(with: text) else { throw failure("unexpected \(found); expected a value") }
        index += text.count
    }

    private mutating func object() throws(JSONSyntaxError) -> JSONValue {
        index += 1
        var fields: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(fields) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure(index < bytes.count && bytes[index] == UInt8(ascii: "}") ? "a trailing comma before '}'" : "unexpected \(found); expected a key in double quotes")
            }
            let keyStart = index
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("unexpected \(found); expected ':' after a key") }
            index += 1
            let value = try self.value()
            guard fields.updateValue(value, forKey: key) == nil else {
                index = keyStart
                throw failure("the key \"\(key)\" is given twice in one object")
            }
            if try closes(with: "}") { return .object(fields) }
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { throw failure("a trailing comma before ']'") }
            elements.append(try value())
            if try closes(with: "]") { return .array(elements) }
        }
    }

    /// After a member or element: true at the closing bracket, false at a comma (both consumed).
    private mutating func closes(with bracket: Unicode.Scalar) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw failure("unexpected end of text; expected ',' or '\(bracket)'") }
        switch bytes[index] {
        case UInt8(ascii: ","): index += 1; return false
        case UInt8(ascii: bracket): index += 1; return true
        default: throw failure("unexpected \(found); expected ',' or '\(bracket)'")
        }
    }

    /// A string's text: escapes resolved, UTF-8 checked.
    private mutating func string() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1
        var text: [UInt8] = []
        var runStart = index
        while true {
            guard index < bytes.count else { index = start; throw failure("a string that is never closed") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw failure("a control character (\(String(format: "U+%04X", byte))) inside a string; escape it") }
            guard byte == UInt8(ascii: "\\") else { index += 1; continue }
            text.append(contentsOf: bytes[runStart..<index])
            try escape(into: &text)
            runStart = index
        }
        text.append(contentsOf: bytes[runStart..<index])
        index += 1
        guard let string = String(validating: text, as: UTF8.self) else { index = start; throw failure("a string that is not valid UTF-8") }
        return string
    }

    private mutating func escape(into text: inout [UInt8]) throws(JSONSyntaxError) {
        guard index + 1 < bytes.count else { throw failure("a string that is never closed") }
        let simple: [UInt8: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09]
        if let byte = simple[bytes[index + 1]] {
            text.append(byte)
            index += 2
            return
        }
        guard let unit = codeUnit(at: index) else { throw failure("an invalid escape; use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX") }
        index += 6
        var scalar = Unicode.Scalar(unit)
        if (0xD800...0xDBFF).contains(unit), let low = codeUnit(at: index), (0xDC00...0xDFFF).contains(low) {
            scalar = Unicode.Scalar(0x10000 + (UInt32(unit - 0xD800) << 10) + UInt32(low - 0xDC00))
            index += 6
        }
        text.append(contentsOf: Array(String(scalar ?? "\u{FFFD}").utf8))
    }

    /// The code unit of a `\uXXXX` escape at `position`.
    private func codeUnit(at position: Int) -> UInt16? {
        guard position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else { return nil }
        var unit: UInt16 = 0
        for byte in bytes[(position + 2)..<(position + 6)] {
            guard let digit = hexDigit(byte) else { return nil }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    private func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`: an integer when it is written as one
    /// and fits 64 bits (signed, or unsigned above `Int64.max`), else a finite double.
    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        func digits(_ parser: inout Parser) -> Int {
            let first = parser.index
            while parser.index < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) { parser.index += 1 }
            return parser.index - first
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        guard digits(&self) > 0 else { throw failure("a '-' without digits") }
        if bytes[integerStart] == UInt8(ascii: "0"), index - integerStart > 1 {
            index = integerStart
            throw failure("a number with a leading zero")
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            integral = false
            guard digits(&self) > 0 else { throw failure("a '.' without digits after it") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            integral = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw failure("an exponent without digits") }
        }
        let lexeme = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let value = Int64(lexeme) { return .integer(value) }
        if integral, let value = UInt64(lexeme) { return .unsigned(value) }
        guard let value = Double(lexeme), value.isFinite else {
            index = start
            throw failure("the number \(lexeme) is too large")
        }
        return .number(value)
    }
}
