import Foundation
import Testing
import ZenModel
import ZenTensor

/// `--precision bf16` and `--precision int8` against float32 on the fixture models: close, and
/// the same decisions. Each test prints its deviation, the numbers of BENCHMARKS.md's table.
@Suite struct ReducedPrecisionTests {
    /// The largest logit difference each precision may show on the tiny fixtures (whose logits are
    /// of order 1): bf16 keeps 8 significant bits of every operand; int8 a row's largest value
    /// to 8 bits (7 on CPUs without VNNI) and the others to the same absolute step.
    static func tolerance(_ precision: Precision) -> Float { precision == .bf16 ? 0.05 : 0.25 }

    /// The decisions that must agree: the random fixture models' logits are close to ties, so a
    /// few flip under int8's coarser rounding.
    static func agreement(_ precision: Precision, of count: Int) -> Int { precision == .bf16 ? count - max(1, count / 100) : count * 9 / 10 }

    /// The float16 fixture at bf16 and int8 reads its embedding tables in place, as stored.
    @Test(arguments: [Precision.bf16, .int8], ["zen2-tiny-cls", "zen2-tiny-cls-fp16"])
    func classifierLogitsStayClose(precision: Precision, name: String) throws {
        let directory = ModelFixtures.path(name)
        let cases = ModelFixtures.cases(name)
        let texts = cases.map { $0["text"] as! String }
        let pairs = cases.map { $0["text_pair"] as? String }
        let maxSeqLength = ModelFixtures.maxSeqLength(name)
        let exact = try ZenModel(directory: directory).classify(texts, pairs: pairs, maxSeqLength: maxSeqLength)
        let reduced = try ZenModel(directory: directory, precision: precision).classify(texts, pairs: pairs, maxSeqLength: maxSeqLength)
        let deviation = zip(exact, reduced).map { maxDifference($0.logits, $1.logits) }.max() ?? 0
        let agreement = zip(exact, reduced).filter { $0.labelIndex == $1.labelIndex }.count
        print("\(precision) \(name): max |logit − fp32| \(deviation), argmax \(agreement) / \(exact.count) (\(GEMM.isa))")
        #expect(deviation < Self.tolerance(precision), "max logit difference \(deviation)")
        #expect(agreement >= Self.agreement(precision, of: exact.count), "argmax agrees on \(agreement) of \(exact.count)")
    }

    @Test(arguments: [Precision.bf16, .int8])
    func tokenLogitsStayClose(precision: Precision) throws {
        let name = "zen2-tiny-ner"
        let directory = ModelFixtures.path(name)
        let exact = try ZenModel(directory: directory)
        let reduced = try ZenModel(directory: directory, precision: precision)
        var (deviation, tokens, agreeing): (Float, Int, Int) = (0, 0, 0)
        for fixture in ModelFixtures.cases(name) {
            let chars = fixture["chars"] as! [String]
            let a = try exact.tag(chars: chars, maxSeqLength: ModelFixtures.maxSeqLength(name))
            let b = try reduced.tag(chars: chars, maxSeqLength: ModelFixtures.maxSeqLength(name))
            deviation = max(deviation, maxDifference(a.logits, b.logits))
            tokens += a.labels.count
            agreeing += zip(a.labels, b.labels).filter { $0 == $1 }.count
        }
        print("\(precision) \(name): max |logit − fp32| \(deviation), argmax \(agreeing) / \(tokens) tokens (\(GEMM.isa))")
        #expect(deviation < Self.tolerance(precision), "max logit difference \(deviation)")
        #expect(agreeing >= Self.agreement(precision, of: tokens), "argmax agrees on \(agreeing) of \(tokens) tokens")
    }
}
