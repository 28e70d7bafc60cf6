import Foundation
import Testing
import ZenText

/// `JSONOutput` (the one encoder configuration) and `ClassificationFields` (the one reader of a
/// classification line).
@Suite struct JSONTests {
    struct Sample: Encodable {
        var values: [Float]
        var text: String

        private enum CodingKeys: String, CodingKey { case values, text }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(numbers: values, forKey: .values)
            try container.encode(text, forKey: .text)
        }
    }

    @Test func floatsReadBackExactlyAndNonFiniteOnesAreNull() throws {
        let values: [Float] = [0.1, -1.1110452, 1e-7, 3.4028235e38, .leastNonzeroMagnitude, 1, 0.041600493]
        let json = try JSONOutput.string(Sample(values: values + [.nan, .infinity], text: "北京/上海"))
        #expect(json.hasPrefix(#"{"text":"北京/上海","values":["#))
        #expect(json.hasSuffix(",null,null]}"))
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let decoded = (object["values"] as! [Any]).prefix(values.count).map { Float(($0 as! NSNumber).doubleValue) }
        #expect(decoded == values)
    }

    func line(_ text: String) -> JSONLine { JSONLine(path: "train.json", number: 3, index: 2, text: text) }

    @Test func classificationFieldDefaults() throws {
        let fields = ClassificationFields()
        #expect(try fields.read(line(#"{"text": "a", "sentence": "b"}"#)).text == "a")
        let clue = try fields.read(line(#"{"sentence": "b", "label": 1, "id": "x"}"#))
        #expect(clue == ClassificationInput(text: "b", pair: nil, label: .integer(1), id: .string("x")))
        #expect(try fields.read(line(#"{"text": "a", "text_pair": "b"}"#)).pair == "b")
        #expect(try fields.read(line(#"{"text": "a", "text_pair": null}"#)).pair == nil)
        let named = ClassificationFields(text: "s1", pair: "s2", label: "y", id: "key")
        #expect(try named.read(line(#"{"s1": "a", "s2": "b", "y": "pos", "key": 7}"#))
                == ClassificationInput(text: "a", pair: "b", label: .string("pos"), id: .integer(7)))
    }

    @Test func aMissingFieldNamesTheLineTheFieldsAndTheOption() {
        #expect(throws: TextError.invalidLine(path: "train.json", line: 3, reason:
            #"no text field "text" or "sentence"; the line has "content", "label"; name the text field with --text-field"#)) {
            try ClassificationFields().read(line(#"{"content": "a", "label": 0}"#))
        }
        #expect(throws: TextError.invalidLine(path: "train.json", line: 3, reason:
            #"no text field "sentence"; the line has "content"; name the text field with --text-field"#)) {
            try ClassificationFields(text: "sentence").read(line(#"{"content": "a"}"#))
        }
        #expect(throws: TextError.invalidLine(path: "train.json", line: 3, reason:
            #"no text pair field "s2"; the line has "text"; name the pair's field with --text-pair-field"#)) {
            try ClassificationFields(pair: "s2").read(line(#"{"text": "a"}"#))
        }
        #expect(throws: TextError.invalidLine(path: "train.json", line: 3, reason: #"field "text" must be a string"#)) {
            try ClassificationFields().read(line(#"{"text": 5}"#))
        }
        #expect(throws: TextError.invalidLine(path: "train.json", line: 3, reason: "not a JSON object")) {
            try ClassificationFields().read(line("[1]"))
        }
    }
}
