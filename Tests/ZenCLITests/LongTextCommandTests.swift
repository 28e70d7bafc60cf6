import Foundation
import Testing

/// `zen fill-mask` on the texts people type, long texts in token tasks, and `--ngram-cap`.
@Suite struct LongTextCommandTests {
    typealias CLI = FeaturesCommandTests
    static let models = CLI.fixtures + "/models"
    static let glued = "我今天很[MASK]，因为天气很好。"

    /// The candidate tokens `zen fill-mask` prints, one list per [MASK].
    static func candidates(_ stdout: String) -> [[String]] {
        var masks: [[String]] = []
        for line in stdout.split(separator: "\n") {
            if line.hasPrefix("[MASK]") { masks.append([]) } else { masks[masks.count - 1].append(String(line.split(separator: " ")[0])) }
        }
        return masks
    }

    @Test func fillMaskTakesAMaskGluedToPunctuation() throws {
        let run = try CLI.zen(["fill-mask", "--model", "\(Self.models)/zen2-tiny-mlm", Self.glued])
        #expect(run.status == 0, "\(run.stderr)")
        let masks = Self.candidates(run.stdout)
        #expect(masks.count == 1 && masks.first?.count == 5)
        // The same as the reference reading the [MASK] as a word of its own.
        let spaced = try ModelCommandTests.run(["predict", "--model", "\(Self.models)/zen2-tiny-mlm", "--task", "mlm", "--max-seq-length", "128"],
                                               inputs: [["text": "我今天很 [MASK] ，因为天气很好。"], ["text": Self.glued]])
        #expect(spaced.first?["predictions"] as? [[String]] == masks)
        // predict --task mlm reproduces the reference's features: there the glued [MASK] is no mask.
        #expect((spaced.last?["predictions"] as? [[String]])?.isEmpty == true)
    }

    @Test func fillMaskWithoutAMaskSaysSo() throws {
        for (text, length) in [("房间很干净", "128"), ("一二三四五六七八[MASK]", "8")] {
            let run = try CLI.zen(["fill-mask", "--model", "\(Self.models)/zen2-tiny-mlm", "--max-seq-length", length, text])
            #expect(run.status != 0)
            #expect(run.stderr.contains("the text has no [MASK] within max_seq_length \(length) tokens"), "\(run.stderr)")
        }
    }

    @Test func predictTagsALongTextWhole() throws {
        let text = "中华人民共和国成立于一九四九年，北京是中国的首都，上海是中国的经济中心。"
        let outputs = try ModelCommandTests.run(["predict", "--model", "\(Self.models)/zen2-tiny-ner", "--task", "ner", "--max-seq-length", "16"],
                                                inputs: [["text": text]])
        let output = try #require(outputs.first)
        #expect(output["truncated"] as? Bool == false)
        #expect((output["labels"] as? [String])?.count == text.unicodeScalars.count)
        #expect((output["tokens"] as? [String])?.count == text.unicodeScalars.count + 2)
        #expect((output["logits"] as? [Any])?.count == text.unicodeScalars.count + 2)
        // As the reference: the first 14 characters, the rest "O".
        let cut = try ModelCommandTests.run(["predict", "--model", "\(Self.models)/zen2-tiny-ner", "--task", "ner", "--max-seq-length", "16",
                                             "--long-texts", "truncate"], inputs: [["text": text]])
        #expect(cut.first?["truncated"] as? Bool == true)
        #expect((cut.first?["tokens"] as? [String])?.count == 16)
        #expect((cut.first?["labels"] as? [String])?.dropFirst(14).allSatisfy { $0 == "O" } == true)
    }

    /// zen2-tiny-cls with `max_seq_length` in its config, as `zen finetune` writes it.
    static func trainedAt(_ length: Int, in directory: URL) throws -> String {
        let model = directory.appendingPathComponent("trained")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: "\(models)/zen2-tiny-cls") where file != "config.json" {
            try FileManager.default.createSymbolicLink(atPath: model.appendingPathComponent(file).path, withDestinationPath: "\(models)/zen2-tiny-cls/\(file)")
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(models)/zen2-tiny-cls/config.json"))) as! [String: Any]
        config["max_seq_length"] = length
        try JSONSerialization.data(withJSONObject: config).write(to: model.appendingPathComponent("config.json"))
        return model.path
    }

    @Test func ngramCapFollowsTheTrainedLengthUnlessAskedForTheReference() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trained = try Self.trainedAt(32, in: directory)
        // 15 tokens, 13 n-grams: all kept at 32, the first 4 at 512 with the reference's cap.
        let inputs: [[String: Any]] = [["text": "中华人民共和国中华人民共和"]]
        func logits(_ model: String, _ length: Int, _ extra: [String] = []) throws -> Any? {
            try ModelCommandTests.run(["predict", "--model", model, "--task", "classification", "--max-seq-length", "\(length)"] + extra,
                                      inputs: inputs).first?["logits"]
        }
        let at32 = try logits(trained, 32)
        #expect(ModelCommandTests.maxDifference(try logits(trained, 512), at32) <= 1e-6)
        let reference = try logits(trained, 512, ["--ngram-cap", "reference"])
        #expect(ModelCommandTests.maxDifference(reference, try logits("\(Self.models)/zen2-tiny-cls", 512)) == 0)
        #expect(ModelCommandTests.maxDifference(reference, at32) > 1e-4)
        for command in ["predict", "embed", "evaluate", "serve", "fill-mask"] {
            let help = try CLI.zen([command, "--help"]).stdout
            #expect(help.contains("--ngram-cap"), "\(command)")
            #expect(help.contains("--long-texts") == ["predict", "evaluate", "serve"].contains(command), "\(command)")
        }
        let bad = try CLI.zen(["fill-mask", "--model", trained, "--ngram-cap", "longest", Self.glued])
        #expect(bad.status != 0 && bad.stderr.contains("trained"), "\(bad.stderr)")
    }
}
