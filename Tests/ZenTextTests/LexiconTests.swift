import Foundation
import Testing
@testable import ZenText

/// The PMI lexicon (spec section 7, "The lexicon") on corpora small enough to count by hand.
@Suite final class LexiconTests {
    /// The test's files, made on first use and removed when the test ends.
    let directory = FileManager.default.temporaryDirectory.path + "/zen-lexicon-" + UUID().uuidString

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// The path of `name` in the test's directory.
    func file(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/" + name
    }

    /// Writes `text` to a corpus file of the test's directory.
    func corpus(_ text: String, name: String = "corpus.txt") throws -> String {
        let path = try file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func build(_ paths: [String], _ options: LexiconOptions, threads: Int = 2, blockBytes: Int = 1 << 22) throws -> Lexicon {
        try LexiconBuilder(tokenizer: Fixtures.tokenizer, options: options, threads: threads, blockBytes: blockBytes)
            .build(corpus: paths)
    }

    func pairs(_ lexicon: Lexicon) -> [String] { lexicon.entries.map { "\($0.ngram),\($0.frequency)" } }

    /// PMI(a, b) = log(N·c(ab) / (c(a)·c(b))), the spec's formula.
    func pmi(tokens: Int, pair: Int, _ first: Int, _ second: Int) -> Double {
        log(Double(tokens) * Double(pair) / (Double(first) * Double(second)))
    }

    // Every character is one token. Counts: 甲 4, 乙 3, 丙 3, 丁 2; N = 12. Pairs: 甲乙 3 (lines
    // 1-3), 乙丙 2 (lines 1-2), 丁甲 1 (line 4), 丙丁 1 (line 5).
    let handCorpus = "甲乙丙\n甲乙丙\n甲乙\n丁甲\n丙丁\n"
    var pmiJiaYi: Double { pmi(tokens: 12, pair: 3, 4, 3) }      // log 3
    var pmiYiBing: Double { pmi(tokens: 12, pair: 2, 3, 3) }     // log 8/3
    var pmiDingJia: Double { pmi(tokens: 12, pair: 1, 2, 4) }    // log 3/2
    var pmiBingDing: Double { pmi(tokens: 12, pair: 1, 3, 2) }   // log 2

    @Test func gluesPairsAtOrAboveTheThresholdAndRecountsEveryOccurrence() throws {
        // A threshold between 丙丁 and 乙丙: 甲乙 and 乙丙 glue, so lines 1-2 are the segment 甲乙丙 and
        // line 3 the segment 甲乙; 丁甲 and 丙丁 stay apart.
        let threshold = (pmiBingDing + pmiYiBing) / 2
        #expect(pmiJiaYi >= threshold && pmiYiBing >= threshold && pmiBingDing < threshold && pmiDingJia < threshold)
        let lexicon = try build([try corpus(handCorpus)], LexiconOptions(minPMI: threshold, minCount: 1))
        // Re-counted over the corpus, 甲乙 occurs 3 times: once as its own segment, twice inside 甲乙丙.
        #expect(pairs(lexicon) == ["甲乙,3", "甲乙丙,2"])
        #expect(lexicon.lines == 5 && lexicon.tokens == 12 && lexicon.unwritable == 0)

        // A threshold of exactly the pair's PMI glues it (>=).
        let exact = try build([try corpus(handCorpus)], LexiconOptions(minPMI: pmiBingDing, minCount: 1))
        #expect(pairs(exact).contains("丙丁,1"))
        // Below 丁甲's PMI every pair glues: line 4 and line 5 become segments too.
        let all = try build([try corpus(handCorpus)], LexiconOptions(minPMI: pmiDingJia, minCount: 1))
        #expect(Set(pairs(all)) == ["甲乙,3", "甲乙丙,2", "丁甲,1", "丙丁,1"])
    }

    @Test func minCountAppliesToWholeSegments() throws {
        let threshold = (pmiBingDing + pmiYiBing) / 2
        // 甲乙 is a whole segment only once (line 3), so it is not kept at 2, though it occurs 3 times.
        let lexicon = try build([try corpus(handCorpus)], LexiconOptions(minPMI: threshold, minCount: 2))
        #expect(pairs(lexicon) == ["甲乙丙,2"])
        let none = try build([try corpus(handCorpus)], LexiconOptions(minPMI: threshold, minCount: 3))
        #expect(none.entries.isEmpty && none.tokens == 12)
    }

    @Test func longerSegmentsThanMaxLengthAreNotKept() throws {
        let threshold = (pmiBingDing + pmiYiBing) / 2
        // At 2 tokens the 甲乙丙 segments are dropped whole, not cut: 甲乙 keeps its one segment.
        let lexicon = try build([try corpus(handCorpus)], LexiconOptions(minPMI: threshold, minCount: 1, maxLength: 2))
        #expect(pairs(lexicon) == ["甲乙,3"])
    }

    @Test func maxNgramsKeepsTheMostFrequent() throws {
        let threshold = (pmiBingDing + pmiYiBing) / 2
        let lexicon = try build([try corpus(handCorpus)], LexiconOptions(minPMI: threshold, minCount: 1, maxNgrams: 1))
        #expect(pairs(lexicon) == ["甲乙,3"])
    }

    @Test func linesNeverGlue() throws {
        // 甲乙 and 丙丁 each occur 3 times in N = 12 tokens: PMI log 4. Read as one text, 乙丙 and
        // 丁甲 would be pairs as strong, and all twelve tokens one segment.
        let lexicon = try build([try corpus(String(repeating: "甲乙\n丙丁\n", count: 3))], LexiconOptions(minPMI: 1, minCount: 1))
        #expect(pmi(tokens: 12, pair: 3, 3, 3) >= 1)
        #expect(pairs(lexicon) == ["丙丁,3", "甲乙,3"])
        // Nor do the end of one file and the start of the next.
        let split = try build([try corpus("甲乙\n丙丁\n", name: "a.txt"), try corpus("甲乙\n丙丁\n甲乙\n丙丁", name: "b.txt")],
                              LexiconOptions(minPMI: 1, minCount: 1))
        #expect(pairs(split) == pairs(lexicon))
    }

    @Test func unknownTokensNeverGlue() throws {
        // [UNK]乙 would have PMI log(8·2 / (2·2)) = log 4, as 甲丙 has.
        let lexicon = try build([try corpus("😀乙\n😀乙\n甲丙\n甲丙\n")], LexiconOptions(minPMI: 1, minCount: 1))
        #expect(pairs(lexicon) == ["甲丙,2"])
    }

    @Test func ngramsWithACommaAreSkipped() throws {
        // 甲 , 乙 glue into one segment, whose text would split the ngram.txt line.
        let lexicon = try build([try corpus("甲,乙\n甲,乙\n丙丁\n")], LexiconOptions(minPMI: 0.1, minCount: 2))
        #expect(lexicon.entries.isEmpty)
        #expect(lexicon.unwritable == 1)
    }

    @Test func textsTokenizeBackToTheirTokens() throws {
        let tokenizer = Fixtures.tokenizer
        for text in ["中国", "playing", "new york", "iphone手机", "《孙子兵法》", "u.s.", "2008年"] {
            let ids = tokenizer.encode(text)
            #expect(tokenizer.text(of: ids) == text, "\(text): \(tokenizer.tokenize(text))")
        }
        // A special token glued to a word reads back as punctuation and letters: no text gives it.
        let mask = try #require(tokenizer.vocabulary.id(of: "[MASK]"))
        #expect(tokenizer.text(of: [mask] + tokenizer.encode("abc")) == nil)
    }

    /// Every ordered pair of different `words` as one line, `word 的 word`: each word occurs in
    /// 2·(count − 1) lines, always whole, while `的` is in every line. Inside a word the PMI is
    /// log(N / c(word)), between a word and `的` about log(N·c(word)/2 / (c(word)·lines)).
    let words = ["北京", "上海", "学生", "playing", "new york", "2008年"]
    var wordCorpus: String {
        words.flatMap { first in words.filter { $0 != first }.map { "\(first)的\($0)" } }.joined(separator: "\n")
    }

    @Test func wordsAreFoundAndTheFileLoadsAsAnNgramDictionary() throws {
        let lines = words.count * (words.count - 1)
        let tokens = lines + 2 * words.reduce(0) { $0 + Fixtures.tokenizer.encode($1).count } * (words.count - 1)
        let occurrences = 2 * (words.count - 1)
        let inside = pmi(tokens: tokens, pair: occurrences, occurrences, occurrences)
        let outside = pmi(tokens: tokens, pair: occurrences / 2, occurrences, lines)
        #expect(outside < 1.5 && inside > 1.5, "\(outside) \(inside)")
        let lexicon = try build([try corpus(wordCorpus)], LexiconOptions(minPMI: 1.5, minCount: occurrences))
        #expect(lexicon.tokens == tokens)
        #expect(lexicon.entries == words.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { LexiconEntry(ngram: $0, frequency: Int64(occurrences)) })

        let path = try file("ngram.txt")
        try OutputFile.write(to: path) { try lexicon.write(to: $0) }
        let ngrams = try NgramDictionary(contentsOf: path, tokenizer: Fixtures.tokenizer)
        #expect(ngrams.matchableCount == lexicon.entries.count)
        for (index, entry) in lexicon.entries.enumerated() {
            let found = ngrams.lookup(Fixtures.tokenizer.encode(entry.ngram))
            #expect(found?.id == Int32(index + 1) && found?.frequency == entry.frequency, "\(entry)")
        }
    }

    @Test func theResultDependsNeitherOnThreadsNorOnBlocks() throws {
        // The hand-made lines, then 200 lines of news.
        let news = try String(contentsOfFile: Fixtures.path("../data/corpus/pretrain.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).prefix(200).joined(separator: "\n")
        let path = try corpus(wordCorpus + "\n" + news)
        let options = LexiconOptions(minPMI: 1.5, minCount: 2)
        let reference = try build([path], options, threads: 1)
        #expect(reference.entries.count > words.count)
        for (threads, blockBytes) in [(1, 1 << 22), (2, 7), (3, 256), (8, 1)] {
            let other = try build([path], options, threads: threads, blockBytes: blockBytes)
            #expect(other.entries == reference.entries, "\(threads) threads, blocks of \(blockBytes) bytes")
            #expect(other.lines == reference.lines && other.tokens == reference.tokens)
        }
        // Most frequent first; equal frequencies in code point order of the text.
        for (a, b) in zip(reference.entries, reference.entries.dropFirst()) {
            #expect(a.frequency > b.frequency || (a.frequency == b.frequency
                    && a.ngram.unicodeScalars.map(\.value).lexicographicallyPrecedes(b.ngram.unicodeScalars.map(\.value))))
        }
    }

    @Test func progressRisesToThreeTimesTheCorpusSize() throws {
        let path = try corpus(wordCorpus)
        let size = try #require(try TextFile.size(of: path))
        var reports: [(done: Int, total: Int)] = []
        let builder = try LexiconBuilder(tokenizer: Fixtures.tokenizer, options: LexiconOptions(minPMI: 1.5, minCount: 1), blockBytes: 64)
        _ = try builder.build(corpus: [path]) { reports.append(($0, $1)) }
        #expect(reports.count > 3)
        #expect(reports.allSatisfy { $0.total == 3 * size })
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.done <= $1.done }, "\(reports)")
        #expect(reports.last?.done == 3 * size)
    }

    @Test func badOptionsNameTheOptionAndItsRange() {
        let cases: [(LexiconOptions, String)] = [
            (LexiconOptions(minPMI: .nan), "--min-pmi nan is out of range: it must be a finite number"),
            (LexiconOptions(minCount: 0), "--min-count 0 is out of range: it must be at least 1"),
            (LexiconOptions(maxLength: 1), "--max-length 1 is out of range: it must be between 2 and 7 (tokens)"),
            (LexiconOptions(maxLength: 8), "--max-length 8 is out of range: it must be between 2 and 7 (tokens)"),
            (LexiconOptions(maxNgrams: 0), "--max-ngrams 0 is out of range: it must be at least 1"),
        ]
        for (options, message) in cases {
            #expect(throws: TextError.self) { try options.validate() }
            do {
                _ = try LexiconBuilder(tokenizer: Fixtures.tokenizer, options: options)
                Issue.record("accepted \(options)")
            } catch {
                #expect(error.description == message)
            }
        }
    }

    @Test func corpusErrorsNameTheFileAndLine() throws {
        let builder = try LexiconBuilder(tokenizer: Fixtures.tokenizer, options: LexiconOptions(), blockBytes: 4)
        var bytes = Data("甲乙\n甲乙\n".utf8)
        bytes.append(contentsOf: [0x61, 0xFF, 0x0A])
        let path = try file("bad.txt")
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: TextError.invalidUTF8(path: path, line: 3)) { try builder.build(corpus: [path]) }
        #expect(throws: TextError.unreadableFile(path: directory, reason: "it is a directory")) {
            try builder.build(corpus: [directory])
        }
        #expect(throws: TextError.unreadableFile(path: directory + "/none.txt", reason: "no such file")) {
            try builder.build(corpus: [directory + "/none.txt"])
        }
    }

    @Test func anEmptyCorpusGivesAnEmptyLexicon() throws {
        let lexicon = try build([try corpus("")], LexiconOptions())
        #expect(lexicon.entries.isEmpty && lexicon.lines == 0 && lexicon.tokens == 0)
    }
}
