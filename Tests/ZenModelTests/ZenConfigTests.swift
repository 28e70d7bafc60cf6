import Foundation
import Testing
@testable import ZenModel

@Suite struct ZenConfigTests {
    static var base: [String: Any] { [
        "hidden_size": 64, "num_hidden_layers": 2, "num_hidden_word_layers": 1, "num_attention_heads": 4,
        "intermediate_size": 128, "vocab_size": 100, "word_size": 10, "something_new": "ignored",
    ] }

    func config(_ changes: [String: Any] = [:], removing: String? = nil) throws(CheckpointError) -> ZenConfig {
        var json = Self.base.merging(changes) { $1 }
        if let removing { json[removing] = nil }
        return try ZenConfig(json: json, path: "config.json")
    }

    @Test func defaultsAndUnknownKeys() throws {
        let config = try config()
        #expect(config.headSize == 16)
        #expect(config.layerNormEps == 1e-12)
        #expect(config.typeVocabSize == 2)
        #expect(config.numLabels == nil && config.id2label == nil)
    }

    @Test func labels() throws {
        let config = try config(["num_labels": 3, "id2label": ["0": "neg", "2": "pos"]])
        #expect(config.id2label == [0: "neg", 2: "pos"])
    }

    @Test func invalidConfigsNameTheProblem() {
        let cases: [([String: Any], String)] = [
            (["num_attention_heads": 5], "does not divide"),
            (["hidden_size": 0], "hidden_size must be positive"),
            (["vocab_size": "many"], "vocab_size must be an integer"),
            (["hidden_act": "relu"], "hidden_act relu"),
            (["num_labels": 2, "id2label": ["5": "x"]], "outside 0..<num_labels"),
            (["num_attention_heads": 32], "heads of size 2"),
        ]
        for (changes, message) in cases {
            do {
                _ = try config(changes)
                Issue.record("accepted \(changes)")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }

    /// Numbers that config.json cannot mean: each is an error naming the field, never a wrapped
    /// or truncated integer, a zero epsilon or a dropout that divides by zero.
    @Test func numbersOutsideTheirRangeNameTheField() throws {
        for (key, text) in [("hidden_size", "18446744073709551680"), ("vocab_size", "1e30"), ("word_size", "-1e300"),
                            ("intermediate_size", "0.5"), ("layer_norm_eps", "0"), ("layer_norm_eps", "-1e-12"),
                            ("layer_norm_eps", "1e300"), ("hidden_dropout_prob", "1"), ("attention_probs_dropout_prob", "-0.5"),
                            ("initializer_range", "-1")] {
            let json = try JSONSerialization.jsonObject(with: Data("{\"\(key)\": \(text)}".utf8)) as! [String: Any]
            do {
                _ = try config(json)
                Issue.record("\(key) \(text) was accepted")
            } catch {
                #expect(error.description.hasPrefix("config.json: \(key) must"), "\(key) \(text): \(error)")
            }
        }
    }

    /// config.json is read by the one strict JSON reader: a key given twice (which value wins is
    /// up to the reader) or a trailing comma is refused with its column.
    @Test(arguments: [
        (#"{"hidden_size": 64, "hidden_size": 32}"#, #"not valid JSON: the key "hidden_size" is given twice in one object at column 21"#),
        (#"{"hidden_size": 64,}"#, "not valid JSON: a trailing comma before '}' at column 20"),
        ("[64]", "not a JSON object"),
    ])
    func aConfigFileIsStrictJSON(_ text: String, _ reason: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CheckpointError.invalidConfig(path: path, reason: reason)) { try ZenConfig(contentsOf: path) }
    }

    @Test func missingKey() {
        do {
            _ = try config(removing: "word_size")
            Issue.record("accepted a config without word_size")
        } catch {
            #expect(error.description == "config.json: word_size is missing")
        }
    }
}
