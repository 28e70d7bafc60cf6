import Foundation
import Testing

/// Bad input: a clear message, a non-zero exit, and no output file left behind as if complete.
@Suite struct FeaturesCommandErrorTests {
    typealias CLI = FeaturesCommandTests

    /// Runs `zen features` on `input` (raw bytes) in a fresh directory whose `out.jsonl` already
    /// holds a previous result, and checks that a failure leaves that file untouched.
    func runFailing(_ input: Data, _ extra: [String] = [], task: String = "sequence",
                    model: String = CLI.fixtures) throws -> String {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputPath = directory.appendingPathComponent("in.jsonl").path
        let outputPath = directory.appendingPathComponent("out.jsonl").path
        try input.write(to: URL(fileURLWithPath: inputPath))
        try "previous result\n".write(toFile: outputPath, atomically: true, encoding: .utf8)
        let run = try CLI.zen(["features", "--model", model, "--task", task, "--max-seq-length", "32",
                               "--input", inputPath, "--output", outputPath] + extra)
        #expect(run.status != 0)
        #expect(try String(contentsOfFile: outputPath, encoding: .utf8) == "previous result\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["in.jsonl", "out.jsonl"])
        return run.stderr
    }

    func lines(_ lines: String...) -> Data { Data(lines.joined(separator: "\n").utf8) }

    @Test func malformedJSONNamesTheLine() throws {
        let message = try runFailing(lines(#"{"text": "好"}"#, #"{"text": "好""#))
        #expect(message.contains("in.jsonl line 2: not valid JSON: unexpected end of text; expected ',' or '}' at column 13"), "\(message)")
    }

    @Test func invalidUTF8NamesTheLine() throws {
        var input = lines(#"{"text": "好"}"#, #"{"text": "好"}"#, "")
        input.append(contentsOf: Array(#"{"text": "a"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
        let message = try runFailing(input)
        #expect(message.contains("in.jsonl line 3: invalid UTF-8"), "\(message)")
    }

    @Test func missingOrMistypedField() throws {
        #expect(try runFailing(lines(#"{"txt": "好"}"#)).contains(#"line 1: missing field "text""#))
        #expect(try runFailing(lines(#"{"text": 5}"#)).contains(#"line 1: field "text" must be a string"#))
    }

    @Test func missingModelFiles() throws {
        let message = try runFailing(lines(#"{"text": "好"}"#), model: "/nonexistent")
        #expect(message.contains("/nonexistent/vocab.txt: no such file"), "\(message)")
    }

    @Test func missingInputFile() throws {
        let run = try CLI.zen(["features", "--model", CLI.fixtures, "--task", "sequence", "--max-seq-length", "32",
                               "--input", "/nonexistent/in.jsonl", "--output", "/tmp/never-written.jsonl"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("cannot read /nonexistent/in.jsonl: no such file"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.jsonl"))
    }

    @Test func badOptions() throws {
        let input = lines(#"{"text": "好"}"#)
        #expect(try runFailing(input, task: "ner").contains("ner"))
        #expect(try runFailing(input, ["--weighting", "tfidf"]).contains("tfidf"))
        #expect(try runFailing(input, ["--weighting", "reference-token"]).contains("token tasks only"))
        for length in ["2", "4097"] {
            let directory = try CLI.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let run = try CLI.zen(["features", "--model", CLI.fixtures, "--task", "sequence", "--max-seq-length", length,
                                   "--input", "x", "--output", directory.appendingPathComponent("out.jsonl").path])
            #expect(run.status != 0)
            #expect(run.stderr.contains("max-seq-length \(length) is out of range"))
        }
    }

    @Test func labelsMustBeKnownAndComplete() throws {
        let unknown = try runFailing(lines(#"{"chars": ["我", "们"], "labels": ["O", "B-PER"]}"#), ["--labels", "O"], task: "token")
        #expect(unknown.contains("line 1: label 'B-PER' is not in the label list (O,[CLS],[SEP])"), "\(unknown)")
        let short = try runFailing(lines(#"{"chars": ["我", "们"], "labels": ["O"]}"#), ["--labels", "O"], task: "token")
        #expect(short.contains("line 1: 2 characters but only 1 labels"), "\(short)")
        let unlisted = try runFailing(lines(#"{"chars": ["我"], "labels": ["O"]}"#), task: "token")
        #expect(unlisted.contains("pass --labels"), "\(unlisted)")
    }

    @Test func loneSurrogateEscapesAreDroppedLikeTheReferenceDoes() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.jsonl").path
        let output = directory.appendingPathComponent("out.jsonl").path
        // What Python's json.dumps writes for "a\ud800b 😀 \\ud800 \udc00": two lone surrogates,
        // a pair, and an escaped backslash before "ud800", which is text.
        try #"{"text": "a\ud800b \ud83d\ude00 \\ud800 \udc00"}"#.write(toFile: input, atomically: true, encoding: .utf8)
        let run = try CLI.zen(["features", "--model", CLI.fixtures, "--task", "sequence", "--max-seq-length", "32",
                               "--input", input, "--output", output])
        #expect(run.status == 0, "\(run.stderr)")
        let tokens = try CLI.jsonLines(output).first?["tokens"] as? [String]
        #expect(tokens == ["[CLS]", "ab", "[UNK]", "\\", "u", "##d", "##800", "[SEP]"])
    }

    @Test func emptyTextAndIdsAreFine() throws {
        let outputs = try CLI.features(task: "sequence", maxSeqLength: 16,
                                       inputs: [["text": "", "id": 7], ["text": "你好", "id": "b"]])
        #expect(outputs.count == 2)
        #expect(outputs[0]["tokens"] as? [String] == ["[CLS]", "[SEP]"])
        #expect(outputs[0]["id"] as? Int == 7)
        #expect(outputs[1]["id"] as? String == "b")
    }
}
