import Foundation
import Testing
import ZenText

/// `JSONInput`, the one reader of JSON: strict where Foundation is lenient, Python's rule for lone
/// surrogates, linear in the nesting depth, and `JSONDecoder`'s errors for the wrong shape.
@Suite struct JSONInputTests {
    func parse(_ text: String) throws -> JSONValue { try JSONInput.parse(Data(text.utf8)) }

    func syntaxError(_ text: String) -> JSONSyntaxError? {
        do { _ = try parse(text); return nil } catch { return error as? JSONSyntaxError }
    }

    @Test func valuesAsWritten() throws {
        let value = try parse(#" {"a": [1, -0, 2.5, 1e2, 9223372036854775808, true, false, null], "b": {"c": "\"\\\/\b\f\n\r\t\u00e9"}} "#)
        #expect(value == .object([
            "a": .array([.integer(1), .integer(0), .number(2.5), .number(100), .unsigned(9223372036854775808), .bool(true), .bool(false), .null]),
            "b": .object(["c": .string("\"\\/\u{08}\u{0C}\n\r\t\u{E9}")]),
        ]))
        #expect(try parse(#""好 😀""#) == .string("好 😀"))
    }

    /// What Foundation accepts and Python's `json` does not: each refused with where and why.
    @Test(arguments: [
        (#"{"text": "a",}"#, "a trailing comma before '}' at column 14"),
        (#"["a", ]"#, "a trailing comma before ']' at column 7"),
        (#"{"text": "a", "text": "b"}"#, #"the key "text" is given twice in one object at column 15"#),
        (#"{"text": "a", "\u0074ext": "b"}"#, #"the key "text" is given twice in one object at column 15"#),
        ("\u{FEFF}{\"text\": \"a\"}", "a byte-order mark (U+FEFF) before the value; save the text as UTF-8 without BOM at column 1"),
        (#"{"text": "a"} {"#, "unexpected '{' after the JSON value at column 15"),
        (#"{"n": 01}"#, "a number with a leading zero at column 7"),
        (#"{"n": 1e999}"#, "the number 1e999 is too large at column 7"),
        (#"{"n": NaN}"#, "unexpected 'N'; expected a value at column 7"),
        (#"{"n": 1.}"#, "a '.' without digits after it at column 9"),
        ("{\"t\": \"a\tb\"}", "a control character (U+0009) inside a string; escape it at column 9"),
        (#"{"t": "\x"}"#, #"an invalid escape; use \", \\, \/, \b, \f, \n, \r, \t or \uXXXX at column 8"#),
        (#"{"t": "abc}"#, "a string that is never closed at column 7"),
        (#"{'t': 1}"#, "unexpected '''; expected a key in double quotes at column 2"),
        ("", "unexpected end of text; expected a value at column 1"),
    ])
    func strictSyntax(_ text: String, _ reason: String) {
        #expect(syntaxError(text)?.description == reason, "\(text)")
    }

    /// Python reads a lone surrogate escape into its string; we read U+FFFD, which the tokenizer
    /// drops as the reference drops the surrogate. A pair is one character; `\\ud800` is text.
    @Test func loneSurrogatesReadAsReplacementCharacters() throws {
        #expect(try parse(#""a\ud800b \ud83d\ude00 \\ud800 \udc00 \udc00\ud800""#)
            == .string("a\u{FFFD}b 😀 \\ud800 \u{FFFD} \u{FFFD}\u{FFFD}"))
    }

    @Test func invalidUTF8IsNamed() {
        let bytes = Data(#"{"t": ""#.utf8) + Data([0xC3, 0x28]) + Data(#""}"#.utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONInput.parse(bytes) }
    }

    /// Foundation's decoder, asked for `JSONValue`, takes seconds for a few hundred levels; ours
    /// is linear, and deeper than `maxDepth` is an error, not a stack overflow.
    @Test func depthIsLinearAndBounded() throws {
        let depth = JSONInput.maxDepth - 1
        let nested = String(repeating: #"{"a":["#, count: depth / 2) + "1" + String(repeating: "]}", count: depth / 2)
        let line = Data(#"{"text": "好", "meta": \#(nested)}"#.utf8)
        let start = ContinuousClock.now
        for _ in 0..<200 { _ = try JSONInput.decode(JSONValue.self, from: line) }
        #expect(start.duration(to: .now) < .seconds(30), "200 lines nested \(depth) deep must take milliseconds, not seconds each")
        let tooDeep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(syntaxError(tooDeep)?.reason == "arrays and objects nested deeper than 512 levels")
    }

    @Test func integersBeyond64BitsAreNumbers() throws {
        #expect(try parse("18446744073709551615") == .unsigned(.max))
        #expect(try parse("18446744073709551616") == .number(18446744073709551616))
        #expect(try parse("-9223372036854775809") == .number(-9223372036854775809))
        #expect(try JSONInput.decode(UInt64.self, from: Data("18446744073709551615".utf8)) == .max)
    }

    struct Request: Decodable, Equatable {
        var texts: [String]
        var count: Int?
        var scale: Float?
    }

    @Test func decodingNamesTheField() throws {
        func decodingError(_ text: String) -> DecodingError? {
            do { _ = try JSONInput.decode(Request.self, from: Data(text.utf8)); return nil } catch { return error as? DecodingError }
        }
        #expect(try JSONInput.decode(Request.self, from: Data(#"{"texts": ["a"], "count": 3.0, "scale": 2, "x": [{}]}"#.utf8))
            == Request(texts: ["a"], count: 3, scale: 2))
        #expect(try JSONInput.decode(Request.self, from: Data(#"{"texts": [], "count": null}"#.utf8)) == Request(texts: []))
        guard case .typeMismatch(_, let context)? = decodingError(#"{"texts": ["a", 3]}"#) else { Issue.record("no type mismatch"); return }
        #expect(DecodingError.fieldPath(context) == "texts[1]")
        guard case .keyNotFound(let key, let missing)? = decodingError(#"{"count": 1}"#) else { Issue.record("no missing key"); return }
        #expect(DecodingError.fieldPath(missing, appending: key) == "texts")
        guard case .valueNotFound(_, let null)? = decodingError(#"{"texts": null}"#) else { Issue.record("null accepted"); return }
        #expect(DecodingError.fieldPath(null) == "texts")
        guard case .dataCorrupted(let fraction)? = decodingError(#"{"texts": [], "count": 1.5}"#) else { Issue.record("1.5 read as an Int"); return }
        #expect(DecodingError.fieldPath(fraction) == "count")
        guard case .typeMismatch(_, let root)? = decodingError("[1]") else { Issue.record("an array read as an object"); return }
        #expect(root.codingPath.isEmpty)
    }
}
