import Foundation
import Testing

/// Input lines a probe found accepted or slow (issue 13, items 6 and 8): the command line reads
/// JSON as strictly as the server, and no line costs more than its size.
@Suite struct HostileInputTests {
    typealias CLI = FeaturesCommandTests
    static let classifier = CLI.fixtures + "/models/zen2-tiny-cls"

    func predict(_ lines: [String]) throws -> (run: CLI.Run, output: String) {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.jsonl").path
        let output = directory.appendingPathComponent("out.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let run = try CLI.zen(["predict", "--model", Self.classifier, "--task", "classification", "--input", input, "--output", output])
        return (run, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// Python's `json` refuses both; Foundation took the first of two keys and ignored the comma.
    @Test func trailingCommasAndRepeatedKeysAreRefusedWithTheirColumn() throws {
        let comma = try predict([#"{"text": "好"}"#, #"{"text": "房间很干净",}"#])
        #expect(comma.run.status != 0)
        #expect(comma.run.stderr.contains("in.jsonl line 2: not valid JSON: a trailing comma before '}' at column 18"), "\(comma.run.stderr)")
        let twice = try predict([#"{"text": "房间很干净", "text": "服务太差了"}"#])
        #expect(twice.run.stderr.contains(#"in.jsonl line 1: not valid JSON: the key "text" is given twice in one object at column 19"#), "\(twice.run.stderr)")
    }

    /// A line nested 511 deep in a field nobody reads cost 1.6 s to decode (quadratic in depth).
    @Test func deeplyNestedFieldsCostTheirSize() throws {
        let nested = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        let lines = (0..<100).map { #"{"text": "房间很干净", "meta": \#(nested), "id": \#($0)}"# }
        let start = ContinuousClock.now
        let (run, output) = try predict(lines)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(output.split(separator: "\n").count == 100)
        #expect(start.duration(to: .now) < .seconds(60), "100 deep lines must take well under a second each")
        let tooDeep = try predict([#"{"text": "好", "meta": \#(String(repeating: "[", count: 600))}"#])
        #expect(tooDeep.run.stderr.contains("in.jsonl line 1: not valid JSON: arrays and objects nested deeper than 512 levels"), "\(tooDeep.run.stderr)")
    }

    /// `/dev/null` is an empty input, not a permission problem.
    @Test func devNullIsAnEmptyInput() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.jsonl").path
        let predict = try CLI.zen(["predict", "--model", Self.classifier, "--task", "classification", "--input", "/dev/null", "--output", output])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(try String(contentsOfFile: output, encoding: .utf8).isEmpty)
        let evaluate = try CLI.zen(["evaluate", "--model", Self.classifier, "--task", "classification", "--data", "/dev/null"])
        #expect(evaluate.status != 0)
        #expect(evaluate.stderr.contains("/dev/null holds no examples"), "\(evaluate.stderr)")
        #expect(!evaluate.stderr.contains("permission"))
    }
}
