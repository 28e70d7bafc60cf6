import Foundation
import Testing
@testable import ZenText

@Suite struct FeatureBuilderTests {
    let vocabulary = Fixtures.tokenizer.vocabulary

    func tokens(_ features: InputFeatures) -> [String] { features.inputIds.map(vocabulary.token(of:)) }

    @Test func pairsShortenTheLongerSideFirstAndBWhenEqual() throws {
        let builder = Fixtures.builder(maxSeqLength: 8)                     // 5 tokens for A and B
        let features = try builder.sequenceFeatures(text: "一二三四", pair: "五六七")
        #expect(tokens(features) == ["[CLS]", "一", "二", "三", "[SEP]", "五", "六", "[SEP]"])
        #expect(features.segmentIds == [0, 0, 0, 0, 0, 1, 1, 1])
        let equal = try Fixtures.builder(maxSeqLength: 7).sequenceFeatures(text: "一二三", pair: "四五六")
        #expect(tokens(equal) == ["[CLS]", "一", "二", "[SEP]", "四", "五", "[SEP]"])
    }

    @Test func emptyAndBlankPairs() throws {
        let builder = Fixtures.builder(maxSeqLength: 5)
        // An empty pair is no pair: A keeps L-2 tokens.
        #expect(tokens(try builder.sequenceFeatures(text: "一二三四", pair: "")) == ["[CLS]", "一", "二", "三", "[SEP]"])
        // A pair of blanks is a pair with no tokens: A keeps L-3, and there is no second [SEP].
        #expect(tokens(try builder.sequenceFeatures(text: "一二三四", pair: "  ")) == ["[CLS]", "一", "二", "[SEP]"])
    }

    @Test func emptyTextIsClsSep() throws {
        let features = try Fixtures.builder(maxSeqLength: 128).sequenceFeatures(text: "")
        #expect(tokens(features) == ["[CLS]", "[SEP]"])
        #expect(features.ngrams.isEmpty && features.fusionMatrix.entries.isEmpty)
        #expect(features.paddedNgramIds == [Int32](repeating: 0, count: 128))
    }

    @Test func keptNgramsAreCappedByLength() throws {
        // 15 tokens with [CLS] and [SEP], 13 n-grams: L=128 keeps up to ceil(15/128*128) = 15 of
        // them, L=512 the first ceil(15/512*128) = 4 by id.
        let text = "中华人民共和国中华人民共和"
        let features = try Fixtures.builder(maxSeqLength: 128).sequenceFeatures(text: text)
        let all = Fixtures.ngrams.matches(in: features.inputIds[...])
        #expect(all.count == 13)
        #expect(features.ngrams == all)
        let long = try Fixtures.builder(maxSeqLength: 512).sequenceFeatures(text: text)
        #expect(long.ngrams == Array(all.prefix(4)))
        #expect(long.fusionMatrix.entries.allSatisfy { $0.column < 4 })
    }

    @Test func capLengthKeepsTheNgramsOfAnotherLength() throws {
        // The text above: 8 n-grams at L=256, 4 at L=512, and 8 again at L=512 capped at 256.
        let text = "中华人民共和国中华人民共和"
        let at256 = try Fixtures.builder(maxSeqLength: 256).sequenceFeatures(text: text)
        let at512 = try Fixtures.builder(maxSeqLength: 512).sequenceFeatures(text: text)
        let capped = try FeatureBuilder(tokenizer: Fixtures.tokenizer, ngrams: Fixtures.ngrams, maxSeqLength: 512, ngramCapLength: 256)
            .sequenceFeatures(text: text)
        #expect(at256.ngrams.count == 8 && at512.ngrams.count == 4)
        #expect(capped.inputIds == at256.inputIds)
        #expect(capped.ngrams == at256.ngrams)
        #expect(capped.fusionMatrix.entries == at256.fusionMatrix.entries)
        #expect(capped.fusionMatrix.rowCount == 512)
        // Token tasks too.
        let words = text.unicodeScalars.map { String($0) }
        let tokenCapped = try FeatureBuilder(tokenizer: Fixtures.tokenizer, ngrams: Fixtures.ngrams, maxSeqLength: 512, ngramCapLength: 256)
            .tokenFeatures(words: words)
        #expect(tokenCapped.ngrams == (try Fixtures.builder(maxSeqLength: 256).tokenFeatures(words: words)).ngrams)
        #expect(Fixtures.builder(maxSeqLength: 512).ngramCapLength == 512)
        // An input longer than the cap length keeps at most every slot.
        let slots = try FeatureBuilder(tokenizer: Fixtures.tokenizer, ngrams: Fixtures.ngrams, maxSeqLength: 512, ngramSlots: 8, ngramCapLength: 3)
            .sequenceFeatures(text: text)
        #expect(slots.ngrams == Array(at256.ngrams.prefix(8)))
        #expect(throws: TextError.invalidMaxSeqLength(0)) {
            try FeatureBuilder(tokenizer: Fixtures.tokenizer, ngrams: Fixtures.ngrams, maxSeqLength: 512, ngramCapLength: 0)
        }
    }

    @Test func literalMasksAreMasksWhereverTheyStand() throws {
        let builder = Fixtures.builder(maxSeqLength: 32)
        let maskId = try #require(vocabulary.maskId)
        let glued = "我今天很[MASK]，因为天气很好。"
        // The reference tokenizer splits a [MASK] glued to punctuation; a literal one is the mask.
        #expect(!(try builder.sequenceFeatures(text: glued)).inputIds.contains(maskId))
        let literal = try builder.sequenceFeatures(text: glued, masks: .literal)
        #expect(Array(tokens(literal).prefix(7)) == ["[CLS]", "我", "今", "天", "很", "[MASK]", "，"])
        #expect(literal.inputIds == (try builder.sequenceFeatures(text: "我今天很 [MASK] ，因为天气很好。")).inputIds)
        #expect(tokens(try builder.sequenceFeatures(text: "[MASK][MASK]x", pair: "a[MASK]", masks: .literal))
            == ["[CLS]", "[MASK]", "[MASK]", "x", "[SEP]", "a", "[MASK]", "[SEP]"])
        // Where the reference already reads a mask, both agree; only the exact upper-case
        // spelling is a mask.
        #expect(try builder.sequenceFeatures(text: "很[MASK]好", masks: .literal) == builder.sequenceFeatures(text: "很[MASK]好"))
        #expect(!(try builder.sequenceFeatures(text: "很[mask]，", masks: .literal)).inputIds.contains(maskId))
        // A mask past max-seq-length is cut like any token.
        let short = Fixtures.builder(maxSeqLength: 6)
        #expect(!(try short.sequenceFeatures(text: "一二三四[MASK]", masks: .literal)).inputIds.contains(maskId))
    }

    @Test func tokenLayoutStopsAtTheFirstWordThatDoesNotFit() throws {
        let builder = Fixtures.builder(maxSeqLength: 6)
        let labels = LabelSet(["O", "X"])
        // " " gives no token and is dropped with its label; "unaffable" (4 tokens) does not fit in
        // the 4 places, and "好", which would, is not taken after it.
        let features = try builder.tokenFeatures(words: ["我", " ", "们", "unaffable", "好"],
                                                 labels: ["O", "X", "X", "O", "O"], labelSet: labels)
        #expect(tokens(features) == ["[CLS]", "我", "们", "[SEP]"])
        #expect(features.labelIds == [3, 1, 2, 4])          // [CLS] and [SEP] appended as 3 and 4
    }

    @Test func continuationTokensOfAWordGetPaddingLabels() throws {
        let features = try Fixtures.builder(maxSeqLength: 16)
            .tokenFeatures(words: ["unaffable", "好"], labels: ["B", "O"], labelSet: LabelSet(["B", "O"]))
        #expect(tokens(features) == ["[CLS]", "u", "##na", "##ff", "##able", "好", "[SEP]"])
        #expect(features.labelIds == [3, 1, 0, 0, 0, 2, 4])
    }

    @Test func labelErrors() {
        let builder = Fixtures.builder(maxSeqLength: 16)
        #expect(throws: TextError.labelCountMismatch(words: 2, labels: 1)) {
            try builder.tokenFeatures(words: ["我", "们"], labels: ["O"], labelSet: LabelSet(["O"]))
        }
        #expect(throws: TextError.unknownLabel("B-PER", known: ["O", "[CLS]", "[SEP]"])) {
            try builder.tokenFeatures(words: ["我"], labels: ["B-PER"], labelSet: LabelSet(["O"]))
        }
    }

    @Test func maxSeqLengthBounds() {
        for bad in [0, 2, 4097] {
            #expect(throws: TextError.invalidMaxSeqLength(bad)) {
                try FeatureBuilder(tokenizer: Fixtures.tokenizer, ngrams: Fixtures.ngrams, maxSeqLength: bad)
            }
        }
        #expect(throws: TextError.weightingNeedsTokenTask(.referenceToken)) {
            try Fixtures.builder(maxSeqLength: 8, weighting: .referenceToken).sequenceFeatures(text: "你好")
        }
    }
}

/// A model directory's `config.json` is read by the one JSON reader: a broken one is named, not
/// silently replaced by the default slot count.
@Suite struct FeatureBuilderDirectoryTests {
    func builder(config: String?, fifo: String? = nil) throws -> FeatureBuilder {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zen-features-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["vocab.txt", "ngram.txt"] where name != fifo {
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: Fixtures.path(name))
        }
        if let config { try config.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8) }
        if let fifo { try #require(mkfifo(directory + "/" + fifo, 0o600) == 0) }
        return try FeatureBuilder(directory: directory, maxSeqLength: 32)
    }

    /// A FIFO would block the reader until some writer came; a model's files must be regular.
    @Test(arguments: ["vocab.txt", "ngram.txt", "config.json"])
    func aFIFOIsRefusedNotWaitedOn(_ file: String) {
        #expect {
            _ = try builder(config: file == "config.json" ? nil : "{}", fifo: file)
        } throws: { error in
            "\(error)".hasSuffix("\(file): it is a named pipe (FIFO), not a regular file; a model directory's files must be regular files")
        }
    }

    @Test func slotsComeFromTheConfig() throws {
        #expect(try builder(config: nil).ngramSlots == NgramDictionary.slotCount)
        #expect(try builder(config: #"{"hidden_size": 32}"#).ngramSlots == NgramDictionary.slotCount)
        #expect(try builder(config: #"{"max_ngrams": 8}"#).ngramSlots == 8)
    }

    @Test(arguments: [
        (#"{"max_ngrams": 8,}"#, "not valid JSON: a trailing comma before '}' at column 18"),
        (#"{"max_ngrams": "8"}"#, #""max_ngrams" must be a positive integer"#),
        (#"{"max_ngrams": 0}"#, #""max_ngrams" must be a positive integer"#),
        ("[]", "not a JSON object"),
    ])
    func aBrokenConfigIsNamed(_ config: String, _ reason: String) {
        #expect {
            _ = try builder(config: config)
        } throws: { error in
            "\(error)".hasSuffix("config.json: \(reason)")
        }
    }
}
