import Foundation
import Testing
import ZenText

/// Pre-training instances from corpora of `pretrain.txt` lines, with the real vocabulary and the
/// tiny pre-training fixture's lexicon: the statistics of a few thousand instances, checked
/// against rules recomputed here from the lexicon's `lookup`.
@Suite struct InstanceGeneratorTests {
    static let data = Fixtures.directory + "/../data"
    static let tokenizer = try! BertTokenizer(vocabularyAt: data + "/bert-base-chinese-vocab.txt")
    static let ngrams = try! NgramDictionary(contentsOf: Fixtures.path("training/tiny-pretrain/init/ngram.txt"), tokenizer: tokenizer)
    static let corpusLines: [String] = try! String(contentsOfFile: data + "/corpus/pretrain.txt", encoding: .utf8)
        .split(separator: "\n").map(String.init)

    static var vocabulary: Vocabulary { tokenizer.vocabulary }
    static var maskId: Int32 { vocabulary.maskId! }

    static func builder(maxSeqLength: Int) -> FeatureBuilder {
        try! FeatureBuilder(tokenizer: tokenizer, ngrams: ngrams, maxSeqLength: maxSeqLength)
    }

    /// Writes `text` to a temporary file and reads it as a corpus (with `more` files after it).
    static func corpus(_ text: String, _ more: [String] = []) throws -> PreTrainingCorpus {
        let paths = try ([text] + more).map { text in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID().uuidString).txt").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
        return try PreTrainingCorpus(paths: paths, tokenizer: tokenizer)
    }

    /// `count` corpus lines from `from` as documents of 1 to 9 lines.
    static func documents(_ count: Int, from start: Int = 0) -> [[String]] {
        var documents: [[String]] = []
        var next = start
        while next < start + count {
            let size = min(1 + documents.count * 5 % 9, start + count - next)
            documents.append(Array(corpusLines[next..<(next + size)]))
            next += size
        }
        return documents
    }

    static func text(_ documents: [[String]]) -> String { documents.map { $0.joined(separator: "\n") }.joined(separator: "\n\n") + "\n" }

    static func generator(_ corpus: PreTrainingCorpus, maxSeqLength: Int = 64, maxPredictions: Int = 20, seed: UInt64 = 42) throws -> InstanceGenerator {
        try InstanceGenerator(builder: builder(maxSeqLength: maxSeqLength), corpus: corpus,
                              options: .init(maxPredictions: maxPredictions, maskedLMProbability: 0.15, seed: seed))
    }

    /// A corpus of about 2,400 lines in documents of 1 to 9 lines, and its generator at length 64.
    static let multiDocument: (corpus: PreTrainingCorpus, generator: InstanceGenerator) = {
        let corpus = try! InstanceGeneratorTests.corpus(text(documents(2400)))
        return (corpus, try! InstanceGeneratorTests.generator(corpus))
    }()

    static func instances(_ generator: InstanceGenerator, epoch: Int = 0) -> [PreTrainingInstance] {
        (0..<generator.instanceCount).map { generator.instance($0, epoch: epoch) }
    }

    /// The instance's ids with the true ids put back at the masked positions.
    static func original(_ instance: PreTrainingInstance) -> [Int32] {
        var ids = instance.inputIds
        for (position, id) in zip(instance.maskedPositions, instance.maskedIds) { ids[Int(position)] = id }
        return ids
    }

    /// The ranges of A and B in `[CLS] A [SEP] B [SEP]`.
    static func texts(_ instance: PreTrainingInstance) -> (a: Range<Int>, b: Range<Int>) {
        let separator = instance.segmentIds.firstIndex(of: 1)! - 1
        return (1..<separator, (separator + 1)..<(instance.inputIds.count - 1))
    }

    /// Greedy longest-match units, found with `lookup` alone.
    static func units(_ tokens: [Int32], offset: Int) -> [Range<Int>] {
        var units: [Range<Int>] = []
        var start = 0
        while start < tokens.count {
            let length = (2...min(7, max(2, tokens.count - start))).reversed()
                .first { start + $0 <= tokens.count && ngrams.lookup(Array(tokens[start..<(start + $0)])) != nil } ?? 1
            units.append((offset + start)..<(offset + start + length))
            start += length
        }
        return units
    }

    /// Every hit of 2...7 tokens found with `lookup`, sorted by id, kept as the n-gram cap keeps them.
    static func expectedHits(_ ids: [Int32], maxSeqLength: Int) -> [NgramMatch] {
        var hits: [NgramMatch] = []
        for length in 2...7 where length <= ids.count {
            for start in 0...(ids.count - length) {
                if let entry = ngrams.lookup(Array(ids[start..<(start + length)])) {
                    hits.append(NgramMatch(id: entry.id, start: Int32(start), length: Int32(length), frequency: entry.frequency))
                }
            }
        }
        hits.sort { ($0.id, $0.start) < ($1.id, $1.start) }
        return Array(hits.prefix(Int((Double(ids.count) / Double(maxSeqLength) * 128).rounded(.up))))
    }

    @Test func masksAboutFifteenPercentOfTheRealTokensInWholeUnits() throws {
        let instances = Self.instances(Self.multiDocument.generator)
        #expect(instances.count > 1800)
        var real = 0, masked = 0, unitsOfSeveral = 0
        for instance in instances {
            let (a, b) = Self.texts(instance)
            let count = a.count + b.count
            real += count
            masked += instance.maskedPositions.count
            let budget = min(20, max(1, Int((0.15 * Double(count)).rounded(.toNearestOrEven))))
            #expect((1...budget).contains(instance.maskedPositions.count), "\(instance.maskedPositions.count) masked of \(count)")
            #expect(instance.maskedPositions == instance.maskedPositions.sorted() && Set(instance.maskedPositions).count == instance.maskedPositions.count)
            #expect(instance.maskedPositions.allSatisfy { a.contains(Int($0)) || b.contains(Int($0)) }, "only real tokens are masked")
            let original = Self.original(instance)
            let maskedSet = Set(instance.maskedPositions.map(Int.init))
            for unit in Self.units(Array(original[a]), offset: a.lowerBound) + Self.units(Array(original[b]), offset: b.lowerBound) {
                let covered = unit.filter(maskedSet.contains).count
                #expect(covered == 0 || covered == unit.count, "unit \(unit) is masked in part: \(instance.tokens)")
                if covered > 1 { unitsOfSeveral += 1 }
            }
        }
        let share = Double(masked) / Double(real)
        #expect(abs(share - 0.15) < 0.01, "masked \(share) of the real tokens")
        #expect(unitsOfSeveral > 500, "whole n-grams are masked together: \(unitsOfSeveral)")
    }

    @Test func maskedTokensAreMaskRandomOrThemselvesEightyTenTen() throws {
        let special: Set<Int32> = Set(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map { Self.vocabulary.id(of: $0)! })
        var mask = 0, same = 0, replaced = 0
        for instance in Self.instances(Self.multiDocument.generator) {
            for (position, trueId) in zip(instance.maskedPositions, instance.maskedIds) {
                let id = instance.inputIds[Int(position)]
                if id == Self.maskId { mask += 1 } else if id == trueId { same += 1 } else {
                    replaced += 1
                    #expect(!special.contains(id) && !Self.vocabulary.token(of: id).hasPrefix("[unused"), "replaced by \(Self.vocabulary.token(of: id))")
                }
            }
        }
        let total = Double(mask + same + replaced)
        #expect(abs(Double(mask) / total - 0.8) < 0.02 && abs(Double(same) / total - 0.1) < 0.02 && abs(Double(replaced) / total - 0.1) < 0.02,
                "[MASK] \(mask), itself \(same), random \(replaced)")
    }

    @Test func maxPredictionsCapsTheMasks() throws {
        let generator = try Self.generator(Self.multiDocument.corpus, maxSeqLength: 128, maxPredictions: 3)
        let counts = (0..<500).map { generator.instance($0, epoch: 0).maskedPositions.count }
        #expect(counts.allSatisfy { $0 <= 3 } && counts.filter { $0 == 3 }.count > 450, "\(counts)")
    }

    @Test func ngramHitsAreFoundOverTheMaskedTokens() throws {
        var hits = 0
        for instance in Self.instances(Self.multiDocument.generator) {
            #expect(instance.inputIds.count <= 64 && instance.tokens == instance.inputIds.map(Self.vocabulary.token(of:)))
            #expect(instance.ngrams == Self.expectedHits(instance.inputIds, maxSeqLength: 64))
            for hit in instance.ngrams {
                let covered = Array(instance.inputIds[Int(hit.start)..<Int(hit.start + hit.length)])
                #expect(!covered.contains(Self.maskId), "a hit covers a [MASK]")
                #expect(Self.ngrams.lookup(covered).map { [Int64($0.id), $0.frequency] } == [Int64(hit.id), hit.frequency])
            }
            #expect(instance.ngramSegmentIds == instance.ngrams.map { instance.segmentIds[Int($0.start)] })
            hits += instance.ngrams.count
        }
        #expect(hits > 10_000)
    }

    @Test func pairsAreNextLinesOrLinesOfAnotherDocumentHalfTheTime() throws {
        let (corpus, generator) = Self.multiDocument
        let lastLines = Set((0..<corpus.documentCount).map { corpus.lines(ofDocument: $0).upperBound - 1 })
        #expect(generator.instanceCount == corpus.lineCount - corpus.documentCount)
        var random = 0
        var firsts: [Int] = []
        for index in 0..<generator.instanceCount {
            let pair = generator.pair(index, epoch: 0)
            let instance = generator.instance(index, epoch: 0)
            firsts.append(pair.first)
            #expect(instance.nextSentenceLabel == (pair.isRandom ? 1 : 0))
            if pair.isRandom {
                random += 1
                #expect(corpus.document(ofLine: pair.second) != corpus.document(ofLine: pair.first))
            } else {
                #expect(pair.second == pair.first + 1 && corpus.document(ofLine: pair.second) == corpus.document(ofLine: pair.first))
            }
            // A and B are the starts of those lines, with their segments.
            let original = Self.original(instance), (a, b) = Self.texts(instance)
            #expect(corpus.tokens(ofLine: pair.first).starts(with: original[a]) && corpus.tokens(ofLine: pair.second).starts(with: original[b]))
            #expect(instance.segmentIds == [Int32](repeating: 0, count: a.upperBound + 1) + [Int32](repeating: 1, count: b.count + 1))
        }
        // Every line but the last of its document is an A once, in corpus order.
        #expect(firsts == (0..<corpus.lineCount).filter { !lastLines.contains($0) })
        let share = Double(random) / Double(generator.instanceCount)
        #expect(abs(share - 0.5) < 0.04, "\(share) random")
    }

    @Test func aSingleDocumentPairsWithAnyLineButTheNextOne() throws {
        let corpus = try Self.corpus(Self.corpusLines[..<300].joined(separator: "\n"))
        #expect(corpus.documentCount == 1 && corpus.lineCount == 300)
        let generator = try Self.generator(corpus)
        #expect(generator.instanceCount == 299)
        var random = 0
        for epoch in 0..<4 {
            for index in 0..<generator.instanceCount {
                let pair = generator.pair(index, epoch: epoch)
                #expect(pair.first == index)
                if pair.isRandom {
                    random += 1
                    #expect(pair.second != pair.first && pair.second != pair.first + 1)
                } else {
                    #expect(pair.second == pair.first + 1)
                }
            }
        }
        #expect(abs(Double(random) / (4 * 299) - 0.5) < 0.05)
    }

    @Test func theLongerTextLosesTokensFromItsEnd() throws {
        let (corpus, _) = Self.multiDocument
        for maxSeqLength in [5, 12, 64] {
            let generator = try Self.generator(corpus, maxSeqLength: maxSeqLength)
            for index in stride(from: 0, to: generator.instanceCount, by: 7) {
                let pair = generator.pair(index, epoch: 1), instance = generator.instance(index, epoch: 1)
                var a = corpus.tokens(ofLine: pair.first).count, b = corpus.tokens(ofLine: pair.second).count
                while a + b > maxSeqLength - 3 { if a > b { a -= 1 } else { b -= 1 } }
                let texts = Self.texts(instance)
                #expect(texts.a.count == a && texts.b.count == b, "\(texts) of \(maxSeqLength)")
            }
        }
    }

    @Test func theSeedDecidesEverythingAndEveryEpochIsNew() throws {
        let corpus = try Self.corpus(Self.text(Self.documents(400, from: 5000)))
        let first = try Self.generator(corpus), again = try Self.generator(corpus), other = try Self.generator(corpus, seed: 7)
        let epoch0 = Self.instances(first)
        #expect(epoch0 == Self.instances(again))
        // Made in another order (as threads would), an instance is the same.
        #expect((0..<again.instanceCount).reversed().map { again.instance($0, epoch: 0) } == epoch0.reversed())
        for different in [Self.instances(first, epoch: 1), Self.instances(other)] {
            let changed = zip(epoch0, different).filter { $0.maskedPositions != $1.maskedPositions }.count
            #expect(changed > epoch0.count * 3 / 4, "\(changed) of \(epoch0.count) masks differ")
        }
    }

    @Test func instancesRoundTripThroughTheirFile() throws {
        let instances = Array(Self.instances(Self.multiDocument.generator).prefix(300))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("instances-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try instances.map { try JSONOutput.string($0) + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        let read = try PreTrainingInstance.read(contentsOf: path) {
            $0.problem(vocabularySize: Self.vocabulary.count, lexiconSize: Self.ngrams.lineCount, maxSeqLength: 64, ngramSlots: 128)
        }
        #expect(read == instances)
    }

    @Test func documentsEndAtBlankLinesAndFileEnds() throws {
        // A whitespace line separates; a line of control characters tokenizes to nothing and is left out.
        let corpus = try Self.corpus("一\n二\n \t\n三\n\u{1}\u{7}\n四\n\n\n五\n", ["六\n七"])
        #expect(corpus.lineCount == 7 && corpus.documentCount == 4)
        #expect((0..<4).map { corpus.lines(ofDocument: $0) } == [0..<2, 2..<4, 4..<5, 5..<7])
        #expect(Array(corpus.tokens(ofLine: 3)) == Self.tokenizer.encode("四"))
        #expect(corpus.document(ofLine: 6) == 3)
    }

    @Test func unreadableOrUnusableCorporaAreNamed() throws {
        #expect(throws: TextError.unreadableFile(path: "/nonexistent/corpus.txt", reason: "no such file")) {
            try PreTrainingCorpus(paths: ["/nonexistent/corpus.txt"], tokenizer: Self.tokenizer)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(Array("一\n二\n".utf8) + [0xE4, 0xB8] + Array("\n".utf8)).write(to: URL(fileURLWithPath: path))
        #expect(throws: TextError.invalidUTF8(path: path, line: 3)) { try PreTrainingCorpus(paths: [path], tokenizer: Self.tokenizer) }

        for (text, words) in [("\n \n", "is empty"), ("一\n\n二\n", "documents of one line each"), ("一\n二\n", "one document of 2 lines")] {
            let error = try #require(throws: TextError.self) { try Self.generator(try Self.corpus(text)) }
            #expect(error.description.contains(words) && error.description.contains("corpus-"), "\(error)")
        }
    }
}
