import Foundation
import Testing
import ZenModel
import ZenText
import ZenTraining

/// `zen pretrain` as users run it: the reference's pre-training run (`fixtures/training/tiny-pretrain`),
/// a stopped run resumed, continued pre-training of a checkpoint without heads, and bad input.
@Suite struct PretrainCommandTests {
    typealias CLI = FeaturesCommandTests
    static let fixture = CLI.fixtures + "/training/tiny-pretrain"

    /// The fixture's hyper-parameters as flags.
    static let parityFlags = ["--model", fixture + "/init", "--instances", fixture + "/instances.jsonl", "--batch-size", "8",
                              "--learning-rate", "0.02", "--warmup-proportion", "0.2", "--epochs", "3", "--dropout", "0", "--no-shuffle"]

    static func expected() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))) as! [String: Any]
    }

    @Test func reproducesTheReferenceRun() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("model").path
        let run = try CLI.zen(["pretrain", "--output", output, "--eval-instances", Self.fixture + "/instances.jsonl"] + Self.parityFlags)
        try #require(run.status == 0, "\(run.stderr)")
        let expected = try Self.expected()
        let log = try CLI.jsonLines(output + "/train_log.jsonl")
        #expect(log.map { $0["step"] as! Int } == Array(1...9))
        for (key, reference) in [("loss", "step_losses"), ("mlm_loss", "step_mlm_losses"), ("nsp_loss", "step_nsp_losses"), ("lr", "step_lrs")] {
            let ours = log.map { ($0[key] as! NSNumber).doubleValue }, theirs = expected[reference] as! [Double]
            #expect(zip(ours, theirs).allSatisfy { abs($0 - $1) < 1e-4 }, "\(key): \(ours) vs \(theirs)")
        }
        // Held out: after every epoch (3 steps) and the last one.
        let evalLog = try CLI.jsonLines(output + "/eval_log.jsonl")
        #expect(evalLog.map { $0["step"] as! Int } == [3, 6, 9])
        #expect(evalLog.allSatisfy { (($0["eval"] as! [String: Any])["perplexity"] as! NSNumber).doubleValue > 1 })
        #expect(run.stdout.contains("\"instances_per_second\""))

        // The output is a model directory: the n-gram attention it was trained with, the decoder
        // stored once (as the embeddings), and the reference's final logits.
        let model = try ZenModel(directory: output)
        #expect(model.config.ngramAttentionMask)
        let names = try SafeTensors.read(output + "/model.safetensors").keys
        #expect(!names.contains("cls.predictions.decoder.weight") && names.contains("cls.predictions.bias") && names.contains("cls.seq_relationship.weight"))
        let gold = (expected["final_mlm_gold_logits"] as! [[NSNumber]]).map { $0.map(\.floatValue) }
        let logSumExp = (expected["final_mlm_logsumexp"] as! [[NSNumber]]).map { $0.map(\.doubleValue) }
        for (index, instance) in try PreTrainingInstance.read(contentsOf: Self.fixture + "/instances.jsonl").prefix(8).enumerated() {
            let example = PreTrainingExample(instance, ngramSlots: 128)
            let scores = try Evaluation.maskedTokenScores(model, example, output: try model.encode(example.features))
            #expect(zip(scores, gold[index]).allSatisfy { abs($0.goldLogit - $1) < 1e-3 }, "instance \(index)")
            #expect(zip(scores, logSumExp[index]).allSatisfy { abs($0.logSumExp - $1) < 1e-3 }, "instance \(index)")
        }

        // fill-mask serves it.
        let fill = try CLI.zen(["fill-mask", "--model", output, "今天天气很[MASK]。"])
        #expect(fill.status == 0, "\(fill.stderr)")
    }

    /// Batches of 2, shuffled, with dropout: a resume must restore the data order, the dropout
    /// streams and the LAMB moments, and end with the uninterrupted run's model, byte for byte.
    @Test func aStoppedRunResumesExactly() async throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let command = ["pretrain", "--model", Self.fixture + "/init", "--instances", Self.fixture + "/instances.jsonl", "--batch-size", "2",
                       "--learning-rate", "0.01", "--warmup-proportion", "0.1", "--epochs", "2", "--dropout", "0.1", "--seed", "7"]
        let whole = try FineTuneResumeTests.BackgroundRun(output: directory.appendingPathComponent("whole").path, command: command)
        let wholeLog = try await whole.finish()
        try #require(whole.process.terminationStatus == 0, "\(wholeLog)")
        let stopped = try FineTuneResumeTests.BackgroundRun(output: directory.appendingPathComponent("stopped").path, command: command)
        _ = try await stopped.send(SIGTERM) { [output = stopped.output] in FineTuneResumeTests.BackgroundRun.loggedSteps(in: output) >= 5 }
        #expect(stopped.process.terminationStatus == 128 + SIGTERM)
        let step = stopped.loggedSteps
        #expect(try FineTuneResumeTests.entries(stopped.output) == ["checkpoint-\(step)"])
        let resumed = try FineTuneResumeTests.BackgroundRun(output: stopped.output, ["--resume"], command: command)
        let stderr = try await resumed.finish()
        try #require(resumed.process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("resuming at step \(step) of"), "\(stderr)")
        for file in ["model.safetensors", "config.json", "train_log.jsonl"] {
            let same = try Data(contentsOf: URL(fileURLWithPath: stopped.output + "/" + file)) == Data(contentsOf: URL(fileURLWithPath: whole.output + "/" + file))
            #expect(same, "\(file) differs from the uninterrupted run's")
        }
        #expect(try FineTuneResumeTests.entries(stopped.output).isEmpty)
    }

    /// Continued pre-training of a checkpoint without pre-training heads (a fine-tuned
    /// classifier): the heads are new, the classifier and its labels are not carried over.
    @Test func continuedPreTrainingOfAFineTunedCheckpoint() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = CLI.fixtures + "/models/zen2-tiny-cls"
        let instances = directory.appendingPathComponent("instances.jsonl").path
        // The fixture's instances refer to the pre-training lexicon; the classifier's has more entries.
        try FileManager.default.copyItem(atPath: Self.fixture + "/instances.jsonl", toPath: instances)
        let output = directory.appendingPathComponent("continued").path
        let run = try CLI.zen(["pretrain", "--model", source, "--instances", instances, "--output", output, "--batch-size", "8", "--max-steps", "2"])
        try #require(run.status == 0, "\(run.stderr)")
        let model = try ZenModel(directory: output)
        #expect(model.config.ngramAttentionMask && model.config.numLabels == nil && model.config.id2label == nil)
        #expect(model.servedTasks.contains(.fillMask) && model.classifierTask == nil)
        #expect(try CLI.jsonLines(output + "/train_log.jsonl").count == 2)
    }

    @Test func badInputIsRefusedByName() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = ["pretrain", "--model", Self.fixture + "/init", "--output", directory.appendingPathComponent("out").path]
        // A line with an id outside the vocabulary: the file and line are named.
        var lines = try String(contentsOfFile: Self.fixture + "/instances.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "\"input_ids\": [101,", with: "\"input_ids\": [99999,")
        let bad = directory.appendingPathComponent("bad.jsonl").path
        try lines.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let outside = try CLI.zen(base + ["--instances", bad])
        #expect(outside.status != 0 && outside.stderr.contains("bad.jsonl line 3") && outside.stderr.contains("99999"), "\(outside.stderr)")
        let emptyDirectory = directory.appendingPathComponent("nothing").path
        try FileManager.default.createDirectory(atPath: emptyDirectory, withIntermediateDirectories: true)
        let noEpochs = try CLI.zen(base + ["--instances", emptyDirectory])
        #expect(noEpochs.status != 0 && noEpochs.stderr.contains("has no epoch_0.jsonl"), "\(noEpochs.stderr)")
        let both = try CLI.zen(base + ["--instances", Self.fixture + "/instances.jsonl", "--epochs", "2", "--max-steps", "3"])
        #expect(both.status != 0 && both.stderr.contains("--epochs or --max-steps"), "\(both.stderr)")
        let nothing = try CLI.zen(base + ["--instances", Self.fixture + "/instances.jsonl", "--resume"])
        #expect(nothing.status != 0 && nothing.stderr.contains("nothing to resume"), "\(nothing.stderr)")
    }

    /// A pre-trained model records its n-gram attention; fine-tuning follows it unless told
    /// otherwise, and the fine-tuned model records what it was trained with.
    @Test func fineTuningFollowsTheNgramAttentionOfTheConfig() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pretrained = directory.appendingPathComponent("pretrained").path
        let run = try CLI.zen(["pretrain", "--output", pretrained] + Self.parityFlags.filter { $0 != "--epochs" && $0 != "3" } + ["--max-steps", "1"])
        try #require(run.status == 0, "\(run.stderr)")
        var losses: [Double] = []
        for (name, flags) in [("followed", []), ("reference", ["--ngram-attention-mask", "false"])] {
            let output = directory.appendingPathComponent(name).path
            let tune = try CLI.zen(["finetune", "--model", pretrained, "--train", FineTuneCommandTests.fixture + "/train.json", "--output", output,
                                    "--task", "classification", "--max-seq-length", "48", "--batch-size", "8", "--epochs", "1", "--no-shuffle"] + flags)
            try #require(tune.status == 0, "\(tune.stderr)")
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/config.json"))) as! [String: Any]
            #expect(config["ngram_attention_mask"] as? Bool == (flags.isEmpty ? true : nil), "\(name)")
            losses.append((try CLI.jsonLines(output + "/train_log.jsonl")[0]["loss"] as! NSNumber).doubleValue)
        }
        // The same first batch, attended to differently.
        #expect(losses[0] != losses[1])
    }
}
