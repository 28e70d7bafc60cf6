import Foundation
import Testing

/// `zen finetune` and `zen evaluate` as users run them: the reference's fine-tuning run, token
/// tagging and segmentation, and bad input (resuming: `FineTuneResumeTests`).
@Suite struct FineTuneCommandTests {
    typealias CLI = FeaturesCommandTests
    static let fixture = CLI.fixtures + "/training/tiny-cls-finetune"
    static let nerModel = CLI.fixtures + "/models/zen2-tiny-ner"

    /// The fixture's hyper-parameters as flags.
    static let parityFlags = ["--task", "classification", "--max-seq-length", "48", "--batch-size", "8", "--learning-rate", "1e-3",
                              "--weight-decay", "0.01", "--warmup-ratio", "0.2", "--epochs", "2", "--dropout", "0", "--no-shuffle"]

    static func expected() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))) as! [String: Any]
    }

    @Test func reproducesTheReferenceRunAndPredictsFromItsOutput() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("model").path
        let run = try CLI.zen(["finetune", "--model", Self.fixture + "/init", "--train", Self.fixture + "/train.json", "--output", output] + Self.parityFlags)
        try #require(run.status == 0, "\(run.stderr)")
        let expected = try Self.expected()
        let log = try CLI.jsonLines(output + "/train_log.jsonl")
        let losses = log.map { ($0["loss"] as! NSNumber).doubleValue }
        let reference = expected["step_losses"] as! [Double]
        #expect(log.map { $0["step"] as! Int } == Array(1...reference.count))
        #expect(log.allSatisfy { $0["lr"] is NSNumber })
        #expect(zip(losses, reference).allSatisfy { abs($0 - $1) < 1e-4 }, "\(losses) vs \(reference)")

        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/config.json"))) as! [String: Any]
        #expect(config["num_labels"] as? Int == 2)
        #expect(config["id2label"] as? [String: String] == ["0": "positive", "1": "negative"])
        #expect(config["ngram_weighting"] as? String == "frequency")
        for file in ["vocab.txt", "ngram.txt", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + file), "\(file)")
        }

        let predictions = directory.appendingPathComponent("predict.json").path
        let predict = try CLI.zen(["predict", "--model", output, "--task", "classification", "--max-seq-length", "48", "--text-field", "sentence",
                                   "--input", Self.fixture + "/train.json", "--output", predictions])
        try #require(predict.status == 0, "\(predict.stderr)")
        let lines = try CLI.jsonLines(predictions)
        let finalLogits = (expected["final_logits"] as! [[NSNumber]]).map { $0.map(\.doubleValue) }
        #expect(lines.count == finalLogits.count)
        for (line, reference) in zip(lines, finalLogits) {
            let logits = (line["logits"] as! [NSNumber]).map(\.doubleValue)
            #expect(zip(logits, reference).allSatisfy { abs($0 - $1) < 1e-3 }, "\(logits) vs \(reference)")
            let best = reference[0] >= reference[1] ? "positive" : "negative"
            #expect(line["label"] as? String == best)
        }
        #expect(lines.first?["id"] as? String == "dev-0")

        let short = try CLI.zen(["predict", "--model", output, "--task", "classification", "--max-seq-length", "48", "--text-field", "sentence",
                                 "--no-logits", "--input", Self.fixture + "/train.json", "--output", predictions])
        #expect(short.status == 0)
        #expect(try CLI.jsonLines(predictions).allSatisfy { Set($0.keys) == ["id", "label"] })
    }

    /// Writes the NER fixture's sentences as a char-per-line file, in BIO or as BMES words.
    static func writeTagged(_ path: String, segmentation: Bool) throws {
        let cases = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: nerModel + "/expected.json"))) as! [String: Any])["cases"]
            as! [[String: Any]]
        var text = ""
        for fixture in cases {
            let chars = fixture["chars"] as! [String]
            var tags = fixture["labels"] as! [String]
            if segmentation { tags = chars.indices.map { ["B", "M", "E", "S"][($0 * 7 + chars.count) % 4] } }
            text += zip(chars, tags).map { "\($0) \($1)\n" }.joined() + "\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test(arguments: [false, true])
    func tagsAndEvaluatesEntitiesOrWords(segmentation: Bool) throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("train.char").path
        try Self.writeTagged(data, segmentation: segmentation)
        let output = directory.appendingPathComponent("model").path
        let run = try CLI.zen(["finetune", "--model", Self.nerModel, "--task", "ner", "--train", data, "--dev", data, "--output", output,
                               "--max-seq-length", "64", "--batch-size", "4", "--learning-rate", "5e-3", "--epochs", "2", "--seed", "3"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(try CLI.jsonLines(output + "/eval_log.jsonl").count == 2)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/config.json"))) as! [String: Any]
        let names = (config["id2label"] as! [String: String])
        #expect(names["0"] == "[PAD]" && names.values.contains("[CLS]") && names.values.contains("[SEP]"))

        let evaluate = try CLI.zen(["evaluate", "--model", output, "--task", "ner", "--data", data, "--max-seq-length", "64"])
        try #require(evaluate.status == 0, "\(evaluate.stderr)")
        let scores = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as! [String: Any]
        #expect(scores["scheme"] as? String == (segmentation ? "bioes" : "bio"))
        for key in ["precision", "recall", "f1"] { #expect((0...1).contains((scores[key] as! NSNumber).doubleValue), "\(key)") }
        #expect((scores["gold"] as! Int) > 0)
        #expect(scores["per_type"] is [String: Any])

        let wrongTask = try CLI.zen(["evaluate", "--model", output, "--task", "classification", "--data", Self.fixture + "/train.json"])
        #expect(wrongTask.status != 0 && wrongTask.stderr.contains("cannot serve sequence classification"), "\(wrongTask.stderr)")
    }

    @Test func badInput() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = ["finetune", "--model", Self.fixture + "/init", "--task", "classification", "--epochs", "1"]
        let train = Self.fixture + "/train.json"

        // An output directory with something in it is refused, and what is there survives.
        let occupied = directory.appendingPathComponent("occupied").path
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: true)
        try "keep".write(toFile: occupied + "/notes.txt", atomically: true, encoding: .utf8)
        let refused = try CLI.zen(base + ["--train", train, "--output", occupied])
        #expect(refused.status != 0 && refused.stderr.contains("exists and is not empty") && refused.stderr.contains("--overwrite"))
        #expect(try String(contentsOfFile: occupied + "/notes.txt", encoding: .utf8) == "keep")

        // A dev label that training never saw.
        let dev = directory.appendingPathComponent("dev.json").path
        try "{\"sentence\": \"还行\", \"label\": \"neutral\"}\n".write(toFile: dev, atomically: true, encoding: .utf8)
        let unseen = try CLI.zen(base + ["--train", train, "--dev", dev, "--output", directory.appendingPathComponent("a").path])
        #expect(unseen.status != 0 && unseen.stderr.contains("\"neutral\" is not among the training labels"), "\(unseen.stderr)")

        // Empty and missing training files.
        let empty = directory.appendingPathComponent("empty.json").path
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        let none = try CLI.zen(base + ["--train", empty, "--output", directory.appendingPathComponent("b").path])
        #expect(none.status != 0 && none.stderr.contains("holds no examples"), "\(none.stderr)")
        let missing = try CLI.zen(base + ["--train", directory.appendingPathComponent("nope.json").path, "--output", directory.appendingPathComponent("c").path])
        #expect(missing.status != 0 && missing.stderr.contains("no such file"), "\(missing.stderr)")

        // A loss that diverges: the step is named, the last good parameters are saved.
        let diverged = directory.appendingPathComponent("diverged").path
        let nan = try CLI.zen(base + ["--train", train, "--output", diverged, "--learning-rate", "1e30", "--warmup-ratio", "0", "--batch-size", "4"])
        #expect(nan.status != 0 && nan.stderr.contains("at step 2"), "\(nan.stderr)")
        #expect(FileManager.default.fileExists(atPath: diverged + "/model.safetensors"))
        #expect(try CLI.jsonLines(diverged + "/train_log.jsonl").count == 1)

        let nothing = try CLI.zen(base + ["--train", train, "--output", directory.appendingPathComponent("d").path, "--resume"])
        #expect(nothing.status != 0 && nothing.stderr.contains("nothing to resume: \(directory.appendingPathComponent("d").path) holds no checkpoint"),
                "\(nothing.stderr)")
        for interval in ["0", "-5", "10x"] {
            let never = try CLI.zen(base + ["--train", train, "--output", directory.appendingPathComponent("f").path, "--save-every", interval])
            #expect(never.status != 0 && never.stderr.contains("--save-every"), "\(never.stderr)")
        }

        let smoothing = try CLI.zen(base + ["--train", train, "--output", directory.appendingPathComponent("e").path, "--label-smoothing", "1"])
        #expect(smoothing.status != 0 && smoothing.stderr.contains("--label-smoothing must be in [0, 1)"))
    }
}

extension FineTuneCommandTests {
    /// `zen init` makes a new model that fine-tunes and predicts; its n-gram table has a row for
    /// every lexicon line plus padding.
    @Test func initializesANewModelThatTrains() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("new").path
        let created = try CLI.zen(["init", "--output", model, "--vocab", CLI.fixtures + "/vocab.txt", "--ngrams", CLI.fixtures + "/ngram.txt",
                                   "--ngram-limit", "1000", "--hidden-size", "32", "--num-hidden-layers", "2", "--num-hidden-word-layers", "1",
                                   "--num-attention-heads", "4", "--intermediate-size", "64", "--max-ngrams", "16", "--seed", "1"])
        try #require(created.status == 0, "\(created.stderr)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as! [String: Any]
        #expect(config["word_size"] as? Int == 1001 && config["hidden_size"] as? Int == 32 && config["max_ngrams"] as? Int == 16)
        let again = try CLI.zen(["init", "--output", model, "--vocab", CLI.fixtures + "/vocab.txt", "--ngrams", CLI.fixtures + "/ngram.txt"])
        #expect(again.status != 0 && again.stderr.contains("not empty"))

        let output = directory.appendingPathComponent("tuned").path
        let tuned = try CLI.zen(["finetune", "--model", model, "--task", "classification", "--train", Self.fixture + "/train.json",
                                 "--output", output, "--max-seq-length", "48", "--batch-size", "8", "--learning-rate", "1e-3", "--epochs", "1"])
        try #require(tuned.status == 0, "\(tuned.stderr)")
        #expect(try CLI.jsonLines(output + "/train_log.jsonl").count == 3)
        let predictions = directory.appendingPathComponent("p.jsonl").path
        let predict = try CLI.zen(["predict", "--model", output, "--task", "classification", "--max-seq-length", "48", "--text-field", "sentence",
                                   "--input", Self.fixture + "/train.json", "--output", predictions])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(try CLI.jsonLines(predictions).allSatisfy { ["positive", "negative"].contains($0["label"] as? String ?? "") })

        // Its features have 16 n-gram slots, as its config says.
        let features = directory.appendingPathComponent("f.jsonl").path
        let texts = directory.appendingPathComponent("t.jsonl").path
        try "{\"text\": \"中华人民共和国国务院总理在北京人民大会堂会见了来访的外国代表团\"}\n".write(toFile: texts, atomically: true, encoding: .utf8)
        #expect(try CLI.zen(["features", "--model", output, "--task", "sequence", "--max-seq-length", "48", "--input", texts, "--output", features]).status == 0)
        let row = try #require(try CLI.jsonLines(features).first)
        let columns = (row["ngram_matrix"] as! [[NSNumber]]).map { $0[1].intValue }
        #expect((row["ngram_ids"] as! [Any]).count <= 16 && columns.allSatisfy { $0 < 16 })
    }
}
