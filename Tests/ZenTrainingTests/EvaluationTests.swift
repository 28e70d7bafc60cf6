import Foundation
import Testing
import ZenModel
import ZenTraining

@Suite struct EvaluationTests {
    static let tagger = try! ZenModel(directory: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/models/zen2-tiny-ner").path)

    @Test func sentencesLongerThanMaxSeqLengthAreScoredWhole() throws {
        // 5 × (a person and an organization) over 50 characters, at 16 tokens a window.
        let chars = Array(repeating: "王小明在北京大学读书".unicodeScalars.map { String($0) }, count: 5).flatMap { $0 }
        let labels = Array(repeating: ["B-PER", "I-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O"], count: 5).flatMap { $0 }
        let result = try Evaluation.entities(Self.tagger, [TaggedSentence(chars: chars, labels: labels)], path: "long.bio",
                                              maxSeqLength: 16, weighting: .frequency)
        #expect(result.truncated == 0)
        #expect(result.overall.gold == 10)
        #expect(result.byType["PER"]?.gold == 5 && result.byType["ORG"]?.gold == 5)
        let tagged = try Self.tagger.tag(chars: chars, maxSeqLength: 16)
        #expect(result.overall.found == Chunk.read(tagged.labels, scheme: .bio).count)
    }
}
