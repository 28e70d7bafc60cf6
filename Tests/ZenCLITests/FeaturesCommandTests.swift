import Foundation
import Testing

/// Runs the built `zen` executable the way our acceptance checks do.
@Suite struct FeaturesCommandTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path

    /// `zen` lives next to the test bundle in the build products directory.
    static let executable: URL = {
        var directory = Bundle.main.bundleURL
        if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("zen")
    }()

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func zen(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus,
                   stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zen-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func fixtureCases(_ name: String) throws -> [[String: Any]] {
        try jsonLines(fixtures + "/" + name)
    }

    /// Writes `inputs` as JSON Lines, runs `zen features` on them and returns the output lines.
    static func features(task: String, maxSeqLength: Int, weighting: String? = nil, labels: String? = nil,
                         inputs: [[String: Any]]) throws -> [[String: Any]] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.jsonl").path
        let output = directory.appendingPathComponent("out.jsonl").path
        let text = try inputs.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
            .joined(separator: "\n")
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        var arguments = ["features", "--model", fixtures, "--task", task, "--max-seq-length", String(maxSeqLength),
                         "--input", input, "--output", output]
        if let weighting { arguments += ["--weighting", weighting] }
        if let labels { arguments += ["--labels", labels] }
        let run = try zen(arguments)
        #expect(run.status == 0, "zen features failed: \(run.stderr)")
        return try jsonLines(output)
    }

    static func expectSameMatrix(_ got: Any?, _ expected: Any?, _ context: String) {
        let got = got as! [[NSNumber]], expected = expected as! [[NSNumber]]
        #expect(got.count == expected.count, "\(context): matrix size")
        for (g, e) in zip(got, expected) {
            #expect(g[0].intValue == e[0].intValue && g[1].intValue == e[1].intValue
                    && abs(g[2].doubleValue - e[2].doubleValue) <= 1e-6, "\(context): \(g) vs \(e)")
        }
    }

    static let hitFields = ["tokens", "input_ids", "ngram_ids", "ngram_starts", "ngram_lengths", "ngram_freqs"]

    @Test func sequenceFixturesThroughTheCommandLine() throws {
        let cases = try Self.fixtureCases("features-sequence.jsonl")
        for maxSeqLength in Set(cases.map { $0["max_seq_length"] as! Int }) {
            let group = cases.filter { $0["max_seq_length"] as! Int == maxSeqLength }
            let inputs = group.map { fixture in fixture.filter { ["text", "text_pair"].contains($0.key) } }
            for (weighting, matrixKey) in [("frequency", "ngram_matrix"), ("reference-sequence", "ngram_matrix_reference_sequence")] {
                let outputs = try Self.features(task: "sequence", maxSeqLength: maxSeqLength, weighting: weighting, inputs: inputs)
                try #require(outputs.count == group.count)
                for (output, fixture) in zip(outputs, group) {
                    for field in Self.hitFields + ["segment_ids"] {
                        #expect((output[field] as! NSArray) == (fixture[field] as! NSArray), "\(field) of \(fixture["text"]!)")
                    }
                    Self.expectSameMatrix(output["ngram_matrix"], fixture[matrixKey], "\(weighting) \(fixture["text"]!)")
                }
            }
        }
    }

    @Test func tokenFixturesThroughTheCommandLine() throws {
        let cases = try Self.fixtureCases("features-token.jsonl")
        let labels = "B-LOC,B-ORG,B-PER,I-LOC,I-ORG,I-PER,O,[CLS],[SEP]"
        for maxSeqLength in Set(cases.map { $0["max_seq_length"] as! Int }) {
            let group = cases.filter { $0["max_seq_length"] as! Int == maxSeqLength }
            let inputs = group.map { fixture in fixture.filter { ["chars", "labels"].contains($0.key) } }
            let outputs = try Self.features(task: "token", maxSeqLength: maxSeqLength, labels: labels, inputs: inputs)
            let reference = try Self.features(task: "token", maxSeqLength: maxSeqLength, weighting: "reference-token", labels: labels, inputs: inputs)
            try #require(outputs.count == group.count && reference.count == group.count)
            for ((output, referenceOutput), fixture) in zip(zip(outputs, reference), group) {
                for field in Self.hitFields + ["label_ids"] {
                    #expect((output[field] as! NSArray) == (fixture[field] as! NSArray), "\(field)")
                }
                Self.expectSameMatrix(output["ngram_matrix"], fixture["ngram_matrix"], "frequency")
                #expect((referenceOutput["ngram_ids"] as! NSArray) == (fixture["reference_token_ngram_ids"] as! NSArray))
                Self.expectSameMatrix(referenceOutput["ngram_matrix"], fixture["ngram_matrix_reference_token"], "reference-token")
            }
        }
    }
}
