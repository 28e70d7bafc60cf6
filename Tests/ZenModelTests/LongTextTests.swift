import Foundation
import Testing
@testable import ZenModel
import ZenText

/// Texts longer than `maxSeqLength` in token tasks, and the n-gram cap of a model that knows
/// the length it was trained at.
@Suite struct LongTextTests {
    static let tagger = try! ZenModel(directory: ModelFixtures.path("zen2-tiny-ner"))
    /// 55 characters, one token each, no stretch repeated (a repeat would give two windows the
    /// same logits).
    static let chars = "中华人民共和国成立于一九四九年，北京是中国的首都，上海是中国的经济中心。王小明在北京大学读书，他说明天去上海。"
        .unicodeScalars.map { String($0) }

    @Test func aTextLongerThanMaxSeqLengthIsTaggedWhole() throws {
        let tagged = try Self.tagger.tag(chars: Self.chars, maxSeqLength: 16)
        #expect(tagged.labeledCount == Self.chars.count)
        #expect(tagged.labels.count == Self.chars.count)
        #expect(tagged.tokens == ["[CLS]"] + Self.chars + ["[SEP]"])
        #expect(tagged.logits.count == tagged.tokens.count)
        #expect(tagged.entities == Entity.read(labels: tagged.labels, chars: Self.chars, scheme: Self.tagger.tagScheme))
    }

    @Test func eachCharacterComesFromTheWindowWhereItIsFurthestFromACutEdge() throws {
        let maxSeqLength = 16
        let windows = try Self.tagger.featureBuilder(maxSeqLength: maxSeqLength).tokenWindows(words: Self.chars)
        #expect(windows.count > 3)
        let whole = try Self.tagger.tag(chars: Self.chars, maxSeqLength: maxSeqLength)
        // Each window's characters tagged on their own.
        let pieces = try windows.map { window in
            try Self.tagger.tag(chars: Array(Self.chars[window.firstWord..<window.firstWord + window.wordCount]), maxSeqLength: maxSeqLength)
        }
        for index in Self.chars.indices {
            let holding = windows.indices.filter { windows[$0].firstWord <= index && index < windows[$0].firstWord + windows[$0].wordCount }
            // One token a character: the distance in characters to an edge that cuts the text.
            func distance(_ window: Int) -> Int {
                let (first, count) = (windows[window].firstWord, windows[window].wordCount)
                let before = first == 0 ? Int.max : index - first
                let after = first + count == Self.chars.count ? Int.max : first + count - 1 - index
                return min(before, after)
            }
            let chosen = try #require(holding.max { distance($0) < distance($1) })
            let position = index - windows[chosen].firstWord
            // Within float noise: the windows ran in one batch, the pieces one by one.
            #expect(whole.labels[index] == pieces[chosen].labels[position])
            #expect(maxDifference(whole.logits[index + 1], pieces[chosen].logits[position + 1]) <= 1e-5, "character \(index) from window \(chosen)")
            for other in holding where other != chosen {
                #expect(maxDifference(whole.logits[index + 1], pieces[other].logits[index - windows[other].firstWord + 1]) > 1e-4)
            }
        }
        #expect(maxDifference(whole.logits[0], pieces[0].logits[0]) <= 1e-5)
        #expect(maxDifference(whole.logits[whole.logits.count - 1], pieces[pieces.count - 1].logits.last!) <= 1e-5)
    }

    @Test func aWordThatFitsNoWindowEndsTheTagging() throws {
        let chars = ["王", "小", "明", "unaffable", "在", "北", "京"]
        let tagged = try Self.tagger.tag(chars: chars, maxSeqLength: 5)
        #expect(tagged.labeledCount == 3)
        #expect(tagged.labels[3...].allSatisfy { $0 == "O" })
        #expect(tagged.tokens == ["[CLS]", "王", "小", "明", "[SEP]"])
    }

    /// zen2-tiny-cls as if `zen finetune` had trained it at `length`.
    static func trained(at length: Int) throws -> ZenModel {
        let model = try ZenModel(directory: ModelFixtures.path("zen2-tiny-cls"))
        var config = model.config
        config.maxSeqLength = length
        return ZenModel(config: config, tokenizer: model.tokenizer, ngrams: model.ngrams, encoder: model.encoder, heads: model.heads)
    }

    @Test func aTrainedLengthCapsTheNgramsAtEveryLength() throws {
        // 15 tokens, 13 n-grams: all kept at 32, the first ceil(15 / 512 · 128) = 4 at 512.
        let text = "中华人民共和国中华人民共和"
        let base = try ZenModel(directory: ModelFixtures.path("zen2-tiny-cls"))
        let trained = try Self.trained(at: 32)
        #expect(try trained.featureBuilder(maxSeqLength: 512).ngramCapLength == 32)
        #expect(try trained.featureBuilder(maxSeqLength: 512, ngramCap: .reference).ngramCapLength == 512)
        #expect(try base.featureBuilder(maxSeqLength: 512).ngramCapLength == 512)
        #expect(try trained.featureBuilder(maxSeqLength: 512).sequenceFeatures(text: text).ngrams.count == 13)
        // At 512 the model sees the n-grams it was trained with at 32, so the same logits.
        let at32 = try trained.classify([text], maxSeqLength: 32)[0].logits
        let at512 = try trained.classify([text], maxSeqLength: 512)[0].logits
        #expect(maxDifference(at512, at32) <= 1e-6)
        // The reference's cap, which drops n-grams at 512, stays available and changes them.
        let reference = try trained.classify([text], maxSeqLength: 512, ngramCap: .reference)[0].logits
        #expect(reference == (try base.classify([text], maxSeqLength: 512)[0].logits))
        #expect(maxDifference(reference, at32) > 1e-4)
    }
}
