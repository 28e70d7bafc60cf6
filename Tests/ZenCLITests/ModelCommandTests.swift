import Foundation
import Testing

/// `zen embed`, `zen predict` and `zen convert` on the reference's tiny models.
@Suite struct ModelCommandTests {
    typealias CLI = FeaturesCommandTests
    static let models = CLI.fixtures + "/models"
    static let tolerance = 1e-4

    static func expected(_ model: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(models)/\(model)/expected.json"))) as! [String: Any]
    }

    /// Runs `zen ARGS --input IN --output OUT` on `inputs` and returns the output lines.
    static func run(_ arguments: [String], inputs: [[String: Any]]) throws -> [[String: Any]] {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.jsonl").path
        let output = directory.appendingPathComponent("out.jsonl").path
        try inputs.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
            .joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let result = try CLI.zen(arguments + ["--input", input, "--output", output])
        #expect(result.status == 0, "zen \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        return result.status == 0 ? try CLI.jsonLines(output) : []
    }

    static func maxDifference(_ a: Any?, _ b: Any?) -> Double {
        switch (a, b) {
        case let (a as [Any], b as [Any]):
            guard a.count == b.count else { return .infinity }
            return zip(a, b).map { maxDifference($0, $1) }.max() ?? 0
        case let (a as NSNumber, b as NSNumber):
            return abs(a.doubleValue - b.doubleValue)
        default:
            return .infinity
        }
    }

    @Test func embedMatchesTheReference() throws {
        let expected = try Self.expected("zen2-tiny-base")
        let cases = expected["cases"] as! [[String: Any]]
        // Batches of inputs sorted by length, in windows of 16 batches: the output keeps the input's order.
        for batchSize in [1, 3] {
            let outputs = try Self.run(["embed", "--model", "\(Self.models)/zen2-tiny-base", "--batch-size", "\(batchSize)",
                                        "--max-seq-length", "\(expected["max_seq_length"]!)"],
                                       inputs: cases.map { ["text": $0["text"]!] })
            try #require(outputs.count == cases.count)
            for (output, fixture) in zip(outputs, cases) {
                #expect(Self.maxDifference(output["pooled_output"], fixture["pooled_output"]) < Self.tolerance)
                #expect(Self.maxDifference(output["sequence_output"], fixture["sequence_output"]) < Self.tolerance)
            }
        }
    }

    @Test func nerMatchesTheReference() throws {
        let expected = try Self.expected("zen2-tiny-ner")
        let cases = expected["cases"] as! [[String: Any]]
        for (weighting, key, batchSize) in [("frequency", "logits", 32), ("reference-token", "logits_reference_token", 2)] {
            // Two cases are longer than max_seq_length: the reference truncates them.
            let outputs = try Self.run(["predict", "--model", "\(Self.models)/zen2-tiny-ner", "--task", "ner", "--long-texts", "truncate",
                                        "--batch-size", "\(batchSize)",
                                        "--weighting", weighting, "--max-seq-length", "\(expected["max_seq_length"]!)"],
                                       inputs: cases.map { ["chars": $0["chars"]!] })
            try #require(outputs.count == cases.count)
            for (output, fixture) in zip(outputs, cases) {
                #expect(Self.maxDifference(output["logits"], fixture[key]) < Self.tolerance)
                #expect((output["labels"] as! [String]).count == (fixture["chars"] as! [String]).count)
                #expect(output["entities"] is [Any])
            }
        }
    }

    @Test func classificationMatchesTheReference() throws {
        for (model, batchSize) in [("zen2-tiny-cls", 1), ("zen2-tiny-cls", 4), ("zen2-tiny-cls-fp16", 32)] {
            let expected = try Self.expected(model)
            let cases = expected["cases"] as! [[String: Any]]
            let outputs = try Self.run(["predict", "--model", "\(Self.models)/\(model)", "--task", "classification", "--batch-size", "\(batchSize)",
                                        "--max-seq-length", "\(expected["max_seq_length"]!)"],
                                       inputs: cases.enumerated().map { index, fixture in
                                           fixture.filter { ["text", "text_pair"].contains($0.key) }.merging(["id": index]) { $1 }
                                       })
            try #require(outputs.count == cases.count)
            for (index, (output, fixture)) in zip(outputs, cases).enumerated() {
                #expect(output["id"] as? Int == index)
                #expect(Self.maxDifference(output["logits"], fixture["logits"]) < Self.tolerance, "\(model) case \(index)")
                let logits = (fixture["logits"] as! [NSNumber]).map(\.doubleValue)
                #expect(output["label"] as? Int == logits.indices.max { logits[$0] < logits[$1] })
            }
        }
    }

    @Test func maskedLMMatchesTheReference() throws {
        let expected = try Self.expected("zen2-tiny-mlm")
        let cases = expected["cases"] as! [[String: Any]]
        let outputs = try Self.run(["predict", "--model", "\(Self.models)/zen2-tiny-mlm", "--task", "mlm",
                                    "--max-seq-length", "\(expected["max_seq_length"]!)"],
                                   inputs: cases.map { ["text": $0["text"]!] })
        try #require(outputs.count == cases.count)
        for (output, fixture) in zip(outputs, cases) {
            #expect(Self.maxDifference(output["mask_logits"], fixture["mask_logits"]) < Self.tolerance)
            #expect(Self.maxDifference(output["nsp_logits"], fixture["nsp_logits"]) < Self.tolerance)
            let predictions = output["predictions"] as! [[String]]
            #expect(predictions.count == (fixture["mask_positions"] as! [Any]).count && predictions.allSatisfy { $0.count == 5 })
        }
    }

    @Test func convertWritesWhatPythonSafetensorsWrites() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("model.safetensors").path
        let run = try CLI.zen(["convert", "--input", "\(Self.models)/zen2-tiny-base/pytorch_model.bin", "--output", output])
        #expect(run.status == 0, "\(run.stderr)")
        // The fixture's model.safetensors was written by Python's safetensors from the same state dict.
        #expect(FileManager.default.contents(atPath: output) == FileManager.default.contents(atPath: "\(Self.models)/zen2-tiny-base/model.safetensors"))
        let corrupt = try CLI.zen(["convert", "--input", "\(Self.models)/zen2-tiny-base/vocab.txt", "--output", output + "2"])
        #expect(corrupt.status != 0)
        #expect(!FileManager.default.fileExists(atPath: output + "2"))
    }

    @Test func benchPrintsItsJSONLine() throws {
        for precision in ["fp32", "bf16", "int8"] {
            let run = try CLI.zen(["bench", "--model", "\(Self.models)/zen2-tiny-cls", "--batch", "2", "--max-seq-length", "32",
                                   "--real-length", "12", "--ngrams", "3", "--iterations", "2", "--threads", "2", "--precision", precision])
            #expect(run.status == 0, "\(run.stderr)")
            let line = try #require(run.stdout.split(separator: "\n").last)
            let fields = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for field in ["seq_per_s", "batch_ms_p50", "batch_ms_p90", "load_s", "peak_rss_mb", "gflops"] {
                #expect((fields[field] as? NSNumber).map { $0.doubleValue > 0 } == true, "\(field) in \(line)")
            }
            #expect(fields["precision"] as? String == precision)
            #expect((fields["engine"] as? String)?.hasPrefix("oneDNN ") == true, "engine in \(line)")
            #expect((fields["isa"] as? String).map { !$0.isEmpty } == true, "isa in \(line)")
        }
        let batch = try CLI.zen(["predict", "--model", "\(Self.models)/zen2-tiny-cls", "--task", "classification", "--batch-size", "0",
                                 "--input", "x", "--output", "y"])
        #expect(batch.status != 0 && batch.stderr.contains("--batch-size must be 1...4096, got 0"), "\(batch.stderr)")
        let invalid = try CLI.zen(["bench", "--model", "\(Self.models)/zen2-tiny-cls", "--real-length", "200"])
        #expect(invalid.status != 0 && invalid.stderr.contains("real-length"))
    }

    @Test func headsTheCheckpointLacksAreErrors() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.jsonl").path
        let output = directory.appendingPathComponent("out.jsonl").path
        try #"{"text": "你好"}"#.write(toFile: input, atomically: true, encoding: .utf8)
        for (task, message) in [("classification", "no sequence classification head"), ("mlm", "no masked language model head")] {
            let run = try CLI.zen(["predict", "--model", "\(Self.models)/zen2-tiny-base", "--task", task,
                                   "--max-seq-length", "32", "--input", input, "--output", output])
            #expect(run.status != 0)
            #expect(run.stderr.contains(message), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
        let missing = try CLI.zen(["embed", "--model", directory.path, "--max-seq-length", "32", "--input", input, "--output", output])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("config.json: no such file"), "\(missing.stderr)")
    }
}
