import Foundation
import Testing

/// `zen pregenerate` as users run it: the epoch files and their metrics, the same bytes on any
/// number of threads, the output directory rules, and bad input.
@Suite struct PregenerateCommandTests {
    typealias CLI = FeaturesCommandTests
    static let model = CLI.fixtures + "/training/tiny-pretrain/init"
    static let corpusLines = try! String(contentsOfFile: CLI.fixtures + "/../data/corpus/pretrain.txt", encoding: .utf8)
        .split(separator: "\n").prefix(400).map(String.init)

    /// Two corpus files: 240 lines in 30 documents of 8, and 160 lines in 20 documents of 8.
    static func writeCorpus(in directory: URL) throws -> [String] {
        try [(0, 240), (240, 400)].enumerated().map { number, range in
            let documents = stride(from: range.0, to: range.1, by: 8).map { corpusLines[$0..<($0 + 8)].joined(separator: "\n") }
            let path = directory.appendingPathComponent("corpus\(number).txt").path
            try (documents.joined(separator: "\n\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    static func contents(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    static func metrics(_ path: String) throws -> [String: Int] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Int]
    }

    @Test func writesEveryEpochTheSameOnAnyNumberOfThreads() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.writeCorpus(in: directory)
        var outputs: [String] = []
        for threads in ["2", "1"] {
            let output = directory.appendingPathComponent("out\(threads)").path
            let run = try CLI.zen(["pregenerate", "--model", Self.model, "--corpus"] + corpus
                + ["--output", output, "--max-seq-length", "64", "--epochs", "2", "--seed", "3", "--threads", threads])
            try #require(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("zen pregenerate: 50 documents, 400 lines, 2 epochs of 350 instances in "), "\(run.stderr)")
            #expect(run.stderr.contains("written to \(output)"))
            outputs.append(output)
        }
        let files = ["epoch_0.jsonl", "epoch_0_metrics.json", "epoch_1.jsonl", "epoch_1_metrics.json"]
        #expect(try Self.contents(outputs[0]) == files)
        for file in files {
            #expect(try Data(contentsOf: URL(fileURLWithPath: outputs[0] + "/" + file)) == Data(contentsOf: URL(fileURLWithPath: outputs[1] + "/" + file)),
                    "\(file) differs between 2 threads and 1")
        }
        let fixtureKeys = Set(try CLI.jsonLines(CLI.fixtures + "/training/tiny-pretrain/instances.jsonl")[0].keys)
        var epochs: [[[String: Any]]] = []
        for epoch in 0..<2 {
            let lines = try CLI.jsonLines(outputs[0] + "/epoch_\(epoch).jsonl")
            #expect(try Self.metrics(outputs[0] + "/epoch_\(epoch)_metrics.json") == ["num_training_examples": 350, "max_seq_len": 64])
            #expect(lines.count == 350 && lines.allSatisfy { Set($0.keys) == fixtureKeys })
            #expect(lines.allSatisfy { ($0["input_ids"] as! [Int]).count <= 64 && ($0["ngram_ids"] as! [Int]).count <= 128 })
            epochs.append(lines)
        }
        let changed = zip(epochs[0], epochs[1]).filter { ($0["masked_lm_positions"] as! [Int]) != ($1["masked_lm_positions"] as! [Int]) }
        #expect(changed.count > 300, "epoch 1 has masks of its own")
    }

    @Test func anyDirectoryWithTheVocabularyAndLexiconAndItsSlots() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.writeCorpus(in: directory)
        let model = directory.appendingPathComponent("lexicon")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for file in ["vocab.txt", "ngram.txt"] {
            try FileManager.default.copyItem(atPath: Self.model + "/" + file, toPath: model.path + "/" + file)
        }
        let output = directory.appendingPathComponent("out").path
        let arguments = ["pregenerate", "--model", model.path, "--corpus", corpus[0], "--output", output, "--max-seq-length", "128", "--overwrite"]
        let plain = try CLI.zen(arguments)
        try #require(plain.status == 0, "\(plain.stderr)")
        #expect(try CLI.jsonLines(output + "/epoch_0.jsonl").contains { ($0["ngram_ids"] as! [Int]).count > 4 })

        try #"{"max_ngrams": 4}"#.write(toFile: model.path + "/config.json", atomically: true, encoding: .utf8)
        let fewSlots = try CLI.zen(arguments)
        try #require(fewSlots.status == 0, "\(fewSlots.stderr)")
        let lines = try CLI.jsonLines(output + "/epoch_0.jsonl")
        #expect(lines.count == 210 && lines.allSatisfy { ($0["ngram_ids"] as! [Int]).count <= 4 })
    }

    @Test func refusesANonEmptyOutputUnlessOverwrite() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.writeCorpus(in: directory)
        let output = directory.appendingPathComponent("out").path
        let arguments = ["pregenerate", "--model", Self.model, "--corpus", corpus[1], "--output", output, "--max-seq-length", "32"]
        try #require(try CLI.zen(arguments + ["--epochs", "3"]).status == 0)
        let first = try Data(contentsOf: URL(fileURLWithPath: output + "/epoch_0.jsonl"))

        let refused = try CLI.zen(arguments + ["--seed", "9"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--output \(output) exists and is not empty; pass --overwrite to write into it"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output + "/epoch_0.jsonl")) == first)

        try "mine".write(toFile: output + "/notes.txt", atomically: true, encoding: .utf8)
        let overwritten = try CLI.zen(arguments + ["--seed", "9", "--overwrite"])
        try #require(overwritten.status == 0, "\(overwritten.stderr)")
        // The later epochs of the earlier run would pass for this run's: they go; other files stay.
        #expect(try Self.contents(output) == ["epoch_0.jsonl", "epoch_0_metrics.json", "notes.txt"])
        #expect(overwritten.stderr.contains("removed epoch_1.jsonl, epoch_1_metrics.json, epoch_2.jsonl, epoch_2_metrics.json"), "\(overwritten.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output + "/epoch_0.jsonl")) != first)

        let file = directory.appendingPathComponent("file").path
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let onFile = try CLI.zen(["pregenerate", "--model", Self.model, "--corpus", corpus[1], "--output", file, "--max-seq-length", "32"])
        #expect(onFile.status != 0 && onFile.stderr.contains("--output \(file) is a file, not a directory"), "\(onFile.stderr)")
    }

    @Test func badInputIsNamedAndWritesNothing() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.writeCorpus(in: directory)[0]
        let invalid = directory.appendingPathComponent("invalid.txt").path
        try Data(Array("一\n二\n".utf8) + [0xFF] + Array("\n".utf8)).write(to: URL(fileURLWithPath: invalid))
        let empty = directory.appendingPathComponent("empty.txt").path
        try "\n\n".write(toFile: empty, atomically: true, encoding: .utf8)
        let noLexicon = directory.appendingPathComponent("vocab-only")
        try FileManager.default.createDirectory(at: noLexicon, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.model + "/vocab.txt", toPath: noLexicon.path + "/vocab.txt")
        let output = directory.appendingPathComponent("out").path

        let cases: [([String: [String]], String)] = [
            (["--model": [noLexicon.path]], "--model \(noLexicon.path) has no ngram.txt"),
            (["--corpus": ["/nonexistent/corpus.txt"]], "cannot read /nonexistent/corpus.txt: no such file"),
            (["--corpus": [corpus, invalid]], "\(invalid) line 3: invalid UTF-8"),
            (["--corpus": [empty]], "the corpus (\(empty)) is empty"),
            (["--max-seq-length": ["4"]], "--max-seq-length 4 is out of range: it must be between 5 and 4096"),
            (["--masked-lm-prob": ["0"]], "--masked-lm-prob must be in (0, 1] (got 0.0)"),
            (["--masked-lm-prob": ["1.5"]], "--masked-lm-prob must be in (0, 1] (got 1.5)"),
            (["--max-predictions": ["0"]], "--max-predictions must be at least 1"),
            (["--epochs": ["0"]], "--epochs must be at least 1"),
        ]
        let standard = ["--model": [Self.model], "--corpus": [corpus], "--output": [output], "--max-seq-length": ["64"]]
        for (changed, message) in cases {
            let options = standard.merging(changed) { $1 }
            let run = try CLI.zen(["pregenerate"] + options.keys.sorted().flatMap { [$0] + options[$0]! })
            #expect(run.status != 0 && run.stderr.contains(message), "\(changed): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output), "\(changed) left \(output)")
        }
    }
}
