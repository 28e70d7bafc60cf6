import Foundation
import Testing

/// What users see of the line commands' input and output: standard streams, links, FIFOs,
/// `--format text`, field defaults, the messages of bad input and outputs, the summary line.
@Suite final class InputOutputTests {
    typealias CLI = FeaturesCommandTests
    static let classifier = CLI.fixtures + "/models/zen2-tiny-cls"
    static let tagger = CLI.fixtures + "/models/zen2-tiny-ner"
    let directory: URL

    init() throws { directory = try CLI.temporaryDirectory() }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ lines: String...) throws -> String {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    /// Runs `zen` with `input` on its standard input.
    static func zen(_ arguments: [String], stdin input: Data) throws -> CLI.Run {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        (process.standardInput, process.standardOutput, process.standardError) = (stdin, stdout, stderr)
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Run(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    static func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func features(_ extra: [String]) -> [String] {
        ["features", "--model", CLI.fixtures, "--task", "sequence", "--max-seq-length", "32"] + extra
    }

    @Test func aSymbolicLinkIsWrittenThroughAndKept() throws {
        let input = try write("in.jsonl", #"{"text": "北京"}"#)
        try FileManager.default.createDirectory(atPath: path("results"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path("out.jsonl"), withDestinationPath: "results/latest.jsonl")
        let run = try CLI.zen(features(["--input", input, "--output", path("out.jsonl")]))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(fileType(path("out.jsonl")) == S_IFLNK)
        #expect(try CLI.jsonLines(path("results/latest.jsonl")).first?["tokens"] as? [String] == ["[CLS]", "北", "京", "[SEP]"])
    }

    @Test func aFIFOIsWrittenIntoNotReplaced() throws {
        let input = try write("in.jsonl", #"{"text": "北京"}"#, #"{"text": "上海"}"#)
        let fifo = path("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        // The reader is a process of its own: zen's open(2) of the FIFO waits for it.
        let reader = Process(), read = Pipe()
        reader.executableURL = URL(fileURLWithPath: "/bin/cat")
        reader.arguments = [fifo]
        reader.standardOutput = read
        try reader.run()
        let run = try CLI.zen(features(["--input", input, "--output", fifo]))
        #expect(run.status == 0, "\(run.stderr)")
        let keptTheFIFO = fileType(fifo) == S_IFIFO
        #expect(keptTheFIFO)
        if !keptTheFIFO { reader.terminate() }   // replaced: nothing will ever write into it
        #expect(try Self.objects(String(decoding: read.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)).count == 2)
    }

    @Test func standardInputAndOutput() throws {
        let lines = Data((#"{"text": "北京", "id": "a"}"# + "\n\n" + #"{"text": "上海"}"# + "\n").utf8)
        for input in ["-", "/dev/stdin"] {
            let run = try Self.zen(features(["--input", input, "--output", "-"]), stdin: lines)
            #expect(run.status == 0, "\(run.stderr)")
            // Standard output carries the lines and nothing else; the summary goes to standard error.
            let outputs = try Self.objects(run.stdout)
            #expect(outputs.map { $0["tokens"] as? [String] } == [["[CLS]", "北", "京", "[SEP]"], ["[CLS]", "上", "海", "[SEP]"]])
            #expect(outputs.first?["id"] as? String == "a")
            #expect(run.stderr.contains("zen features: 2 lines in "), "\(run.stderr)")
            #expect(run.stderr.contains("written to standard output"), "\(run.stderr)")
        }
        let bad = try Self.zen(features(["--input", "-", "--output", "-"]), stdin: Data("{\"text\": 1}\n".utf8))
        #expect(bad.status != 0)
        #expect(bad.stderr.contains(#"standard input line 1: field "text" must be a string"#), "\(bad.stderr)")
    }

    @Test func textFormatMakesEveryLineOneText() throws {
        let input = try write("in.txt", "北京 大学", "", "{\"text\": 1}")
        let sequence = try CLI.zen(features(["--format", "text", "--input", input, "--output", "-"]))
        #expect(sequence.status == 0, "\(sequence.stderr)")
        let tokens = try Self.objects(sequence.stdout).map { $0["tokens"] as! [String] }
        #expect(tokens.first == ["[CLS]", "北", "京", "大", "学", "[SEP]"])
        // A line that looks like JSON is text too.
        #expect(tokens.count == 2 && tokens[1].first(where: { $0 != "[CLS]" }) == "{" && tokens[1].contains("}"))
        let tagged = try CLI.zen(["predict", "--model", Self.tagger, "--task", "ner", "--format", "text", "--input", input, "--output", "-"])
        #expect(tagged.status == 0, "\(tagged.stderr)")
        // Token tasks: every Unicode scalar of the line is a character, the space included.
        #expect(try Self.objects(tagged.stdout).map { ($0["labels"] as! [String]).count } == [5, 11])
        let classified = try CLI.zen(["predict", "--model", Self.classifier, "--task", "classification", "--format", "text",
                                      "--input", input, "--output", "-"])
        #expect(try Self.objects(classified.stdout).map { $0["id"] as? Int } == [0, 1])
    }

    @Test func classificationFieldsDefaultAlikeAndAMissingOneIsNamed() throws {
        let clue = try write("clue.jsonl", #"{"sentence": "房间很干净", "label": "0"}"#, #"{"sentence": "服务太差了", "label": "1"}"#)
        let predicted = try CLI.zen(["predict", "--model", Self.classifier, "--task", "classification", "--input", clue, "--output", "-"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        #expect(try Self.objects(predicted.stdout).count == 2)
        let text = try write("text.jsonl", #"{"text": "房间很干净", "label": "0"}"#)
        let evaluated = try CLI.zen(["evaluate", "--model", Self.classifier, "--task", "classification", "--data", text])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(try Self.objects(evaluated.stdout).first?["examples"] as? Int == 1)
        let content = try write("train.json", #"{"sentence": "好"}"#, "", #"{"content": "好", "label": "0"}"#)
        for arguments in [["predict", "--task", "classification", "--input", content, "--output", path("out.jsonl")],
                          ["evaluate", "--task", "classification", "--data", content]] {
            let run = try CLI.zen(arguments + ["--model", Self.classifier])
            #expect(run.status != 0)
            #expect(run.stderr.contains(#"train.json line 3: no text field "text" or "sentence"; the line has "content", "label"; name the text field with --text-field"#),
                    "\(run.stderr)")
        }
    }

    @Test func anUnwritableOutputSaysWhyAndWhatToDo() throws {
        let input = try write("in.jsonl", #"{"text": "北京"}"#)
        let missing = path("missing") + "/out.jsonl"
        let run = try CLI.zen(features(["--input", input, "--output", missing]))
        #expect(run.status != 0)
        #expect(run.stderr.contains("cannot write \(missing): the directory \(path("missing")) does not exist; create it or choose another --output"),
                "\(run.stderr)")
        let directory = try CLI.zen(features(["--input", input, "--output", self.directory.path]))
        #expect(directory.stderr.contains("it is a directory"), "\(directory.stderr)")
        for message in [run.stderr, directory.stderr] {
            #expect(!message.contains("NSCocoaErrorDomain") && !message.contains("cannot read"))
        }
    }

    @Test func probabilitiesAndScoresAgreeWithTheLogits() throws {
        func softmax(_ logits: [Double]) -> [Double] {
            let exponentials = logits.map { exp($0 - logits.max()!) }
            return exponentials.map { $0 / exponentials.reduce(0, +) }
        }
        func doubles(_ value: Any?) -> [Double] { (value as! [NSNumber]).map(\.doubleValue) }
        let input = try write("in.jsonl", #"{"text": "房间很干净"}"#, #"{"text": "北京是中国的首都。"}"#)
        let classified = try CLI.zen(["predict", "--model", Self.classifier, "--task", "classification", "--input", input, "--output", "-"])
        for line in try Self.objects(classified.stdout) {
            let probabilities = doubles(line["probabilities"])
            #expect(zip(probabilities, softmax(doubles(line["logits"]))).allSatisfy { abs($0 - $1) < 1e-6 })
            let index = line["index"] as! Int
            #expect(abs(doubles(line["logits"])[index] - doubles(line["logits"]).max()!) == 0)
            #expect(abs((line["score"] as! NSNumber).doubleValue - probabilities[index]) < 1e-7)
        }
        let masks = try write("masks.jsonl", #"{"text": "北京是中国的 [MASK] 都。"}"#)
        let masked = try CLI.zen(["predict", "--model", CLI.fixtures + "/models/zen2-tiny-mlm", "--task", "mlm", "--input", masks, "--output", "-"])
        #expect(masked.status == 0, "\(masked.stderr)")
        let line = try #require(try Self.objects(masked.stdout).first)
        let scores = (line["scores"] as! [[NSNumber]]).map { $0.map(\.doubleValue) }
        #expect(scores.map(\.count) == (line["predictions"] as! [[String]]).map(\.count) && scores.count == 1)
        let expected = softmax(doubles((line["mask_logits"] as! [Any])[0])).sorted(by: >).prefix(5)
        #expect(zip(scores[0], expected).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func maxSeqLengthDefaultsToTheModels() throws {
        // The tagger with max_seq_length 8 in its config.json, its other files linked.
        let model = path("model")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.tagger) where file != "config.json" {
            try FileManager.default.createSymbolicLink(atPath: model + "/" + file, withDestinationPath: Self.tagger + "/" + file)
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.tagger + "/config.json"))) as! [String: Any]
        config["max_seq_length"] = 8
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: model + "/config.json"))
        let input = try write("in.txt", "王小明在北京大学读书")
        func tokens(_ extra: [String]) throws -> Int? {
            let run = try CLI.zen(["predict", "--model", model, "--task", "ner", "--long-texts", "truncate", "--format", "text",
                                   "--input", input, "--output", "-"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            return (try Self.objects(run.stdout).first?["tokens"] as? [String])?.count
        }
        #expect(try tokens([]) == 8)
        #expect(try tokens(["--max-seq-length", "32"]) == 12)
    }

    @Test func aBusyPortIsNamed() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        #expect(bound && listen(listener, 1) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let run = try CLI.zen(["serve", "--model", "cls=\(Self.classifier)", "--port", "\(port)"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("cannot listen on 127.0.0.1:\(port): the port is in use; stop the other server or choose another --port"),
                "\(run.stderr)")
        #expect(!run.stderr.contains("errno"))
    }

    @Test func versionAndSummary() throws {
        let version = try CLI.zen(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.wholeMatch(of: /\d+\.\d+\.\d+\n/) != nil, "\(version.stdout)")
        let input = try write("in.jsonl", #"{"text": "房间很干净"}"#, #"{"text": "服务太差了"}"#, #"{"text": "还行"}"#)
        let run = try CLI.zen(["predict", "--model", Self.classifier, "--task", "classification", "--input", input, "--output", path("out.jsonl")])
        #expect(run.status == 0)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.wholeMatch(of: /zen predict: 3 lines in [0-9.]+ s \([0-9.]+ lines\/s\), written to .*out\.jsonl\n/) != nil, "\(run.stderr)")
    }
}
