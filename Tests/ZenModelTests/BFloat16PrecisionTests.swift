import Foundation
import Testing
import ZenModel
import ZenTensor

/// `--precision bf16` against float32 on the fixture models: close, and the same decisions.
@Suite struct BFloat16PrecisionTests {
    @Test func classifierLogitsStayClose() throws {
        let name = "zen2-tiny-cls"
        let directory = ModelFixtures.path(name)
        let cases = ModelFixtures.cases(name)
        let texts = cases.map { $0["text"] as! String }
        let pairs = cases.map { $0["text_pair"] as? String }
        let maxSeqLength = ModelFixtures.maxSeqLength(name)
        let exact = try ZenModel(directory: directory).classify(texts, pairs: pairs, maxSeqLength: maxSeqLength)
        let bf16 = try ZenModel(directory: directory, precision: .bf16).classify(texts, pairs: pairs, maxSeqLength: maxSeqLength)
        let deviation = zip(exact, bf16).map { maxDifference($0.logits, $1.logits) }.max() ?? 0
        let agreement = zip(exact, bf16).filter { $0.labelIndex == $1.labelIndex }.count
        #expect(deviation < 0.05, "max logit difference \(deviation)")
        #expect(agreement >= exact.count - 1, "argmax agrees on \(agreement) of \(exact.count)")
    }

    @Test func tokenLogitsStayClose() throws {
        let name = "zen2-tiny-ner"
        let directory = ModelFixtures.path(name)
        let exact = try ZenModel(directory: directory)
        let bf16 = try ZenModel(directory: directory, precision: .bf16)
        var deviation: Float = 0
        for fixture in ModelFixtures.cases(name) {
            let chars = fixture["chars"] as! [String]
            let a = try exact.tag(chars: chars, maxSeqLength: ModelFixtures.maxSeqLength(name))
            let b = try bf16.tag(chars: chars, maxSeqLength: ModelFixtures.maxSeqLength(name))
            deviation = max(deviation, maxDifference(a.logits, b.logits))
        }
        #expect(deviation < 0.05, "max logit difference \(deviation)")
    }
}
