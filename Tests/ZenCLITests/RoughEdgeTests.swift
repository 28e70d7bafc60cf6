import Foundation
import Testing

/// What a new user hit on a clean clone (issue 12), each as it was seen.
@Suite struct RoughEdgeTests {
    typealias CLI = FeaturesCommandTests
    static let fixture = FineTuneCommandTests.fixture
    static let models = CLI.fixtures + "/models"
    static let base = ["finetune", "--model", fixture + "/init", "--task", "classification", "--max-seq-length", "48"]

    /// `--max-steps` shorter than an epoch with `--dev` and no `--eval-every` leaves a model that
    /// `zen evaluate` loads (the run ends with a dev evaluation), and `max_seq_length` is saved
    /// and used by `zen evaluate` without the flag.
    @Test func aRunShorterThanAnEpochLeavesAModel() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("model").path
        let train = Self.fixture + "/train.json"
        let run = try CLI.zen(Self.base + ["--train", train, "--dev", train, "--output", output, "--batch-size", "4", "--max-steps", "2"])
        try #require(run.status == 0, "\(run.stderr)")
        let evaluations = try CLI.jsonLines(output + "/eval_log.jsonl")
        #expect(evaluations.map { $0["step"] as? Int } == [2])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(summary["best_step"] as? Int == 2 && summary["steps"] as? Int == 2)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/config.json"))) as! [String: Any]
        #expect(config["max_seq_length"] as? Int == 48)
        let evaluate = try CLI.zen(["evaluate", "--model", output, "--task", "classification", "--data", train])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        #expect(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) is [String: Any])
        // Fine-tuning it further defaults to the length it was trained at, as every command does.
        let again = directory.appendingPathComponent("again").path
        let second = try CLI.zen(["finetune", "--model", output, "--task", "classification", "--train", train, "--output", again, "--max-steps", "1"])
        try #require(second.status == 0, "\(second.stderr)")
        let secondConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: again + "/config.json"))) as! [String: Any]
        #expect(secondConfig["max_seq_length"] as? Int == 48)
        // The progress counts the steps the run takes, and the summary is a line of its own.
        #expect(run.stderr.contains(", 2 steps, labels"), "\(run.stderr)")
    }

    /// Five examples at batch 32 for 2 epochs: the reference's schedule has 0 steps and a NaN
    /// rate; the run trains its 2 steps at finite rates and says why the schedule is stretched.
    @Test func fewerExamplesThanABatchStillTrain() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let train = directory.appendingPathComponent("five.json").path
        let lines = try String(contentsOfFile: Self.fixture + "/train.json", encoding: .utf8).split(separator: "\n").prefix(5)
        try (lines.joined(separator: "\n") + "\n").write(toFile: train, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("model").path
        let run = try CLI.zen(Self.base + ["--train", train, "--output", output, "--batch-size", "32", "--epochs", "2"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("fewer than one batch of 32"), "\(run.stderr)")
        let log = try CLI.jsonLines(output + "/train_log.jsonl")
        #expect(log.count == 2)
        let rates = log.map { ($0["lr"] as! NSNumber).doubleValue }
        #expect(rates.allSatisfy(\.isFinite) && rates.contains { $0 > 0 }, "\(rates)")
        #expect(FileManager.default.fileExists(atPath: output + "/model.safetensors"))
    }

    /// A file in the other task's format is recognised and the expected format named, instead of
    /// JSON parsed as char/tag lines (which trained on nonsense and failed with a NaN loss).
    @Test func aFileInTheWrongFormatNamesTheExpectedOne() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tagged = directory.appendingPathComponent("train.char.bio").path
        try "王 B-PER\n小 I-PER\n\n北 B-LOC\n".write(toFile: tagged, atomically: true, encoding: .utf8)
        let ner = try CLI.zen(["finetune", "--model", Self.fixture + "/init", "--task", "ner", "--train", Self.fixture + "/train.json",
                               "--output", directory.appendingPathComponent("a").path])
        #expect(ner.status != 0 && ner.stderr.contains("line 1") && ner.stderr.contains("char-per-line"), "\(ner.stderr)")
        let classification = try CLI.zen(Self.base + ["--train", tagged, "--output", directory.appendingPathComponent("b").path])
        #expect(classification.status != 0 && classification.stderr.contains("line 1") && classification.stderr.contains("JSON Lines"),
                "\(classification.stderr)")
    }

    /// `zen evaluate` on labels the model does not predict, or without labels: named, and no scores.
    @Test func evaluateRefusesLabelsTheModelDoesNotHave() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("model").path
        let train = Self.fixture + "/train.json"
        try #require(try CLI.zen(Self.base + ["--train", train, "--output", output, "--max-steps", "1"]).status == 0)
        let other = directory.appendingPathComponent("other.json").path
        try "{\"sentence\": \"还行\", \"label\": \"neutral\"}\n{\"sentence\": \"很好\", \"label\": \"positive\"}\n"
            .write(toFile: other, atomically: true, encoding: .utf8)
        let unknown = try CLI.zen(["evaluate", "--model", output, "--task", "classification", "--data", other])
        #expect(unknown.status != 0 && unknown.stdout.isEmpty)
        #expect(unknown.stderr.contains("\"neutral\"") && unknown.stderr.contains("positive, negative"), "\(unknown.stderr)")
        let unlabelled = directory.appendingPathComponent("unlabelled.json").path
        try "{\"sentence\": \"还行\"}\n".write(toFile: unlabelled, atomically: true, encoding: .utf8)
        let none = try CLI.zen(["evaluate", "--model", output, "--task", "classification", "--data", unlabelled])
        #expect(none.status != 0 && none.stdout.isEmpty && none.stderr.contains("item 1 has no label"), "\(none.stderr)")
    }

    /// `zen predict --task ner` on a sequence classifier without `id2label` answered with labels
    /// "0", "1", "2"; it is refused whatever the config's labels.
    @Test func nerOnASequenceClassifierIsRefused() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.jsonl").path
        try #"{"text": "王小明在北京"}"#.write(toFile: input, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("out.jsonl").path
        let run = try CLI.zen(["predict", "--model", Self.models + "/zen2-tiny-cls", "--task", "ner", "--max-seq-length", "32",
                               "--input", input, "--output", output])
        #expect(run.status != 0 && run.stderr.contains("cannot serve token classification"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
