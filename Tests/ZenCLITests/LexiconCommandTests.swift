import Foundation
import Testing

/// `zen lexicon` end to end: the file it writes, the summary, and every refusal leaving the
/// previous output as it was.
@Suite final class LexiconCommandTests {
    typealias CLI = FeaturesCommandTests
    static let vocab = CLI.fixtures + "/vocab.txt"
    let directory: URL

    init() throws { directory = try CLI.temporaryDirectory() }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    func lexicon(_ corpus: [String], output: String, _ extra: [String] = []) throws -> CLI.Run {
        try CLI.zen(["lexicon", "--corpus"] + corpus + ["--vocab", Self.vocab, "--output", output] + extra)
    }

    // 甲 4, 乙 3, 丙 3, 丁 2 tokens of N = 12; pairs 甲乙 3, 乙丙 2, 丁甲 1, 丙丁 1 (one token a character).
    let corpus = "甲乙丙\n甲乙丙\n甲乙\n丁甲\n丙丁\n"

    @Test func writesTheLexiconAndASummary() throws {
        // PMI = log(N·c(ab) / (c(a)·c(b))): 甲乙 log 3, 乙丙 log 8/3 glue at 0.9; 丙丁 log 2 and 丁甲 log 3/2 do not.
        #expect(log(12.0 * 3 / (4 * 3)) >= 0.9 && log(12.0 * 2 / (3 * 3)) >= 0.9 && log(12.0 * 1 / (3 * 2)) < 0.9)
        let output = path("ngram.txt")
        let run = try lexicon([try write("corpus.txt", corpus)], output: output, ["--min-pmi", "0.9", "--min-count", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        // 甲乙丙 is a segment twice (lines 1-2), 甲乙 once (line 3) and occurs three times in all.
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "甲乙,3\n甲乙丙,2\n")
        #expect(run.stderr.contains("zen lexicon: 5 lines, 12 tokens, 2 n-grams in "), "\(run.stderr)")
        #expect(run.stderr.hasSuffix("s, written to \(output)\n"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["corpus.txt", "ngram.txt"])

        // Several files are one corpus whose lines stay apart; `-` writes standard output.
        let split = try lexicon([try write("a.txt", "甲乙丙\n甲乙丙\n"), try write("b.txt", "甲乙\n丁甲\n丙丁")], output: "-",
                                ["--min-pmi", "0.9", "--min-count", "1", "--max-ngrams", "1"])
        #expect(split.status == 0, "\(split.stderr)")
        #expect(split.stdout == "甲乙,3\n")
    }

    @Test func readsTheCorpusFromStandardInput() throws {
        // The text is read once (the later passes read its token ids back), so a pipe will do.
        let output = path("ngram.txt")
        let run = try InputOutputTests.zen(["lexicon", "--corpus", "-", "--vocab", Self.vocab, "--output", output,
                                            "--min-pmi", "0.9", "--min-count", "1"], stdin: Data(corpus.utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "甲乙,3\n甲乙丙,2\n")
    }

    @Test func theDefaultsGiveWordsOnARealCorpus() throws {
        // The first 2,000 lines of the pre-training corpus: frequent words, each a line of the file.
        let lines = try String(contentsOfFile: CLI.fixtures + "/../data/corpus/pretrain.txt", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).prefix(2000)
        let output = path("ngram.txt")
        let run = try lexicon([try write("corpus.txt", lines.joined(separator: "\n"))], output: output)
        #expect(run.status == 0, "\(run.stderr)")
        let entries = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",") }
        #expect(entries.count > 500)
        #expect(entries.allSatisfy { $0.count == 2 && Int($0[1])! >= 3 })   // the default --min-count
        #expect(["中国", "经济", "发展", "新华社"].allSatisfy { word in entries.contains { $0[0] == word } })
    }

    /// Runs a failing `zen lexicon` over an `ngram.txt` that holds a previous lexicon: the error
    /// message, after checking that the file and the directory are as they were.
    func failing(_ corpus: [String], _ extra: [String] = [], vocab: String = vocab) throws -> String {
        let output = path("ngram.txt")
        try "previous,1\n".write(toFile: output, atomically: true, encoding: .utf8)
        let before = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let run = try CLI.zen(["lexicon", "--corpus"] + corpus + ["--vocab", vocab, "--output", output] + extra)
        #expect(run.status != 0)
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "previous,1\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == before)
        return run.stderr
    }

    @Test func unreadableInputsAreNamed() throws {
        let good = try write("corpus.txt", corpus)
        #expect(try failing([good, path("none.txt")]).contains("cannot read \(path("none.txt")): no such file"))
        #expect(try failing([directory.path]).contains("cannot read \(directory.path): it is a directory"))
        #expect(try failing([good], vocab: path("none.txt")).contains("cannot read \(path("none.txt")): no such file"))

        var bytes = Data("甲乙\n甲乙\n".utf8)
        bytes.append(contentsOf: [0x61, 0xFF, 0x0A])
        try bytes.write(to: URL(fileURLWithPath: path("bad.txt")))
        let message = try failing([good, path("bad.txt")])
        #expect(message.contains("\(path("bad.txt")) line 3: invalid UTF-8"), "\(message)")
    }

    @Test func badOptionsNameTheFlagAndTheRange() throws {
        let good = try write("corpus.txt", corpus)
        #expect(try failing([good], ["--min-count", "0"]).contains("--min-count 0 is out of range: it must be at least 1"))
        #expect(try failing([good], ["--max-length", "8"]).contains("--max-length 8 is out of range: it must be between 2 and 7"))
        #expect(try failing([good], ["--max-length", "1"]).contains("--max-length 1 is out of range"))
        #expect(try failing([good], ["--max-ngrams", "0"]).contains("--max-ngrams 0 is out of range: it must be at least 1"))
        #expect(try failing([good], ["--min-pmi", "nan"]).contains("--min-pmi nan is out of range: it must be a finite number"))
        #expect(try failing([good], ["--min-count", "many"]).contains("many"))
        #expect(try failing([]).contains("Missing value for '--corpus <corpus>'"))
    }

    @Test func noNgramIsAnErrorThatSaysWhatToLower() throws {
        let empty = try failing([try write("empty.txt", "\n\n")])
        #expect(empty.contains("holds no tokens"), "\(empty)")
        let none = try failing([try write("corpus.txt", corpus)], ["--min-pmi", "5", "--min-count", "5", "--max-length", "3"])
        #expect(none.contains("no n-gram in \(path("corpus.txt")) (5 lines, 12 tokens) passed the thresholds; "
                              + "lower --min-pmi (now 5.0) or --min-count (now 5) or raise --max-length (now 3)"), "\(none)")
    }

    @Test func aScratchDirectoryThatCannotBeWrittenIsNamed() throws {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["lexicon", "--corpus", try write("corpus.txt", corpus), "--vocab", Self.vocab, "--output", path("ngram.txt")]
        process.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": path("none")]) { $1 }
        let err = Pipe()
        process.standardError = err
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(message.contains("the directory \(path("none")) does not exist; create it or choose another TMPDIR"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: path("ngram.txt")))
    }

    @Test func neverWritesOverItsInputs() throws {
        let corpusPath = try write("corpus.txt", corpus)
        let run = try lexicon([corpusPath], output: corpusPath, ["--min-pmi", "0.9", "--min-count", "1"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--output \(corpusPath) is the --corpus file \(corpusPath); choose another --output"), "\(run.stderr)")
        #expect(try String(contentsOfFile: corpusPath, encoding: .utf8) == corpus)

        let missing = try lexicon([corpusPath], output: path("no/ngram.txt"))
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("the directory \(path("no")) does not exist; create it or choose another --output"), "\(missing.stderr)")
    }
}
