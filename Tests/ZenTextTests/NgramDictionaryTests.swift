import Foundation
import Testing
@testable import ZenText

@Suite struct NgramDictionaryTests {
    func dictionary(_ text: String) throws -> NgramDictionary {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ngram-\(UUID().uuidString).txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try NgramDictionary(contentsOf: path, tokenizer: Fixtures.tokenizer)
    }

    func ids(_ text: String) -> [Int32] { Fixtures.tokenizer.encode(text) }

    /// `(id, frequency)` of the entry for `text`, failing the test if there is none.
    func entry(_ ngrams: NgramDictionary, _ text: String) throws -> [Int64] {
        let found = try #require(ngrams.lookup(ids(text)), "no entry for \(text)")
        return [Int64(found.id), found.frequency]
    }

    @Test func idsAreLineNumbersAndSkippedLinesUseThemUp() throws {
        let ngrams = try dictionary("北京,10\nno comma\na,b,c\n中国,20\n")
        #expect(try entry(ngrams, "北京") == [1, 10])
        #expect(try entry(ngrams, "中国") == [4, 20])
        #expect(ngrams.lineCount == 4)
    }

    @Test func aLaterLineWithTheSameTokensWins() throws {
        // "Hello World" and "hello world" tokenize alike, so the second line replaces the first.
        let ngrams = try dictionary("Hello World,67\nhello world,66\n")
        #expect(try entry(ngrams, "hello world") == [2, 66])
        #expect(ngrams.matchableCount == 1)
    }

    @Test func greedyUnitsTakeTheLongestNgramFromTheLeft() throws {
        let ngrams = try dictionary("北京,1\n北京大学,2\n大学生,3\n学生,4\n生活,5\n")
        // 北京大学 wins over 北京 at the start, and leaves 大学生 and 学生 no tokens; then 生活.
        #expect(ngrams.greedyUnits(in: ids("北京大学生活")[...]) == [4, 2])
        #expect(ngrams.greedyUnits(in: ids("大北京大学生")[...]) == [1, 4, 1])
        // A proper prefix of an entry (北京大) is no unit of its own.
        #expect(ngrams.greedyUnits(in: ids("北京大")[...]) == [2, 1])
        #expect(ngrams.greedyUnits(in: []) == [])
    }

    @Test func entriesThatCanNeverMatch() throws {
        // One token, more than seven tokens, or an [UNK] among them.
        let ngrams = try dictionary("中,5\n一二三四五六七八,5\n😀笑,9\n一二三四五六七,7\n")
        #expect(ngrams.matchableCount == 1)
        #expect(ngrams.lookup(ids("😀笑")) == nil)
        #expect(try entry(ngrams, "一二三四五六七") == [4, 7])
    }

    @Test func frequenciesParseLikePythonInt() throws {
        let ngrams = try dictionary("北京, 12 \n中国,+3\n上海,1_000\n天津,-4\n广州,１２\n")
        #expect(try entry(ngrams, "北京")[1] == 12)
        #expect(try entry(ngrams, "中国")[1] == 3)
        #expect(try entry(ngrams, "上海")[1] == 1000)
        #expect(try entry(ngrams, "天津")[1] == -4)
        #expect(try entry(ngrams, "广州")[1] == 12)
        for bad in ["1__0", "_1", "1_", "", "1.5", "0x10", "+"] {
            #expect(NgramDictionary.pythonInt(Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test func aFrequencyThatIsNotANumberNamesTheLine() {
        #expect(throws: TextError.self) { try dictionary("北京,10\n中国,many\n") }
        do {
            _ = try dictionary("北京,10\n中国,many\n")
        } catch {
            #expect("\(error)".hasSuffix("line 2: frequency 'many' is not an integer"))
        }
    }

    @Test func matchesSortByIdThenPosition() throws {
        let ngrams = try dictionary("北京天安门,1\n天安门,2\n北京,3\n")
        let tokens = ids("北京天安门北京")
        let found = ngrams.matches(in: tokens[...])
        #expect(found.map(\.id) == [1, 2, 3, 3])
        #expect(found.map(\.start) == [0, 2, 0, 5])
        #expect(found.map(\.length) == [5, 3, 2, 2])
    }

    @Test func theRealLexiconLoads() throws {
        let ngrams = try NgramDictionary(
            contentsOf: Fixtures.directory + "/../data/ngram/jieba-ngram.txt", tokenizer: Fixtures.tokenizer)
        #expect(ngrams.lineCount == 336_471)
        #expect(ngrams.matchableCount > 300_000)
    }
}

@Suite struct FusionMatrixTests {
    func match(_ id: Int32, _ start: Int32, _ length: Int32, _ frequency: Int64) -> NgramMatch {
        NgramMatch(id: id, start: start, length: length, frequency: frequency)
    }

    @Test func frequencyWeightingNormalizesEachRow() {
        // Rows 1 and 2 are shared by both n-grams: 10/(10+30) and 30/(10+30).
        let matrix = FusionMatrix(matches: [match(5, 0, 3, 10), match(7, 1, 2, 30)], rowCount: 8, weighting: .frequency)
        let dense = matrix.dense()
        #expect(dense.count == 8 * 128)
        #expect(dense[0 * 128 + 0] == 1)
        #expect(dense[1 * 128 + 0] == Float(10.0 / (40.0 + 1e-10)))
        #expect(dense[2 * 128 + 1] == Float(30.0 / (40.0 + 1e-10)))
        #expect(matrix.entries.count == 5)
        #expect(matrix.entries.map(\.row) == [0, 1, 1, 2, 2])
    }

    @Test func referenceWeightingsTruncate() {
        let matches = [match(5, 0, 3, 10), match(7, 1, 2, 30), match(9, 4, 2, 0)]
        let sequence = FusionMatrix(matches: matches, rowCount: 8, weighting: .referenceSequence)
        // Only row 0 has a single covering n-gram; the zero-frequency n-gram weighs nothing.
        #expect(sequence.entries == [.init(row: 0, column: 0, value: 1)])
        // In float64 f/(f + 1e-10) < 1 unless 1e-10 is lost next to f: frequencies above ~9e5.
        let token = FusionMatrix(matches: [match(1, 0, 2, 5637), match(2, 2, 2, 1_200_000)], rowCount: 8, weighting: .referenceToken)
        #expect(token.entries.map(\.row) == [2, 3])
        #expect(token.entries.allSatisfy { $0.value == 1 && $0.column == 1 })
    }
}
