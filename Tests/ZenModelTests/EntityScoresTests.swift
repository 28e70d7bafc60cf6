import Foundation
import Testing
import ZenModel

/// Entity reading and scoring against `fixtures/metrics.jsonl`, the reference's own numbers.
@Suite struct EntityScoresTests {
    struct Case: Decodable {
        var markup: String
        var gold: [[String]]
        var pred: [[String]]
        var precision: Double
        var recall: Double
        var f1: Double
    }

    static let cases: [Case] = {
        let path = ModelFixtures.directory + "/../metrics.jsonl"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fatalError("\(path) is missing") }
        return text.split(separator: "\n").map { try! JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
    }()

    @Test func everyMetricsCase() throws {
        #expect(Self.cases.count == 80)
        for (index, fixture) in Self.cases.enumerated() {
            let scheme = try #require(TagScheme(rawValue: fixture.markup))
            let scores = EntityScores.score(gold: fixture.gold, predicted: fixture.pred, scheme: scheme).overall
            #expect(abs(scores.precision - fixture.precision) < 1e-9, "case \(index) precision")
            #expect(abs(scores.recall - fixture.recall) < 1e-9, "case \(index) recall")
            #expect(abs(scores.f1 - fixture.f1) < 1e-9, "case \(index) f1")
        }
    }

    @Test func readingRules() {
        let chars = ["新", "华", "社", "北", "京"]
        #expect(Entity.read(labels: ["B-ORG", "I-ORG", "I-ORG", "B-LOC", "I-LOC"], chars: chars, scheme: .bio)
                == [Entity(type: "ORG", start: 0, end: 3, text: "新华社"), Entity(type: "LOC", start: 3, end: 5, text: "北京")])
        #expect(Entity.read(labels: ["O", "I-ORG", "O", "B-LOC", "O"], chars: chars, scheme: .bio)
                == [Entity(type: "LOC", start: 3, end: 4, text: "北")])          // I- without B- opens nothing
        #expect(Entity.read(labels: ["S-PER", "B-LOC", "O", "B-LOC", "I-LOC"], chars: chars, scheme: .bios)
                == [Entity(type: "PER", start: 0, end: 1, text: "新"), Entity(type: "LOC", start: 3, end: 5, text: "北京")])
        let perType = EntityScores.score(gold: [["B-ORG", "I-ORG", "O", "B-LOC", "O"]], predicted: [["B-ORG", "I-ORG", "O", "B-PER", "O"]],
                                         scheme: .bio).byType
        #expect(perType["ORG"]?.f1 == 1 && perType["LOC"]?.recall == 0 && perType["PER"]?.precision == 0)
    }
}

extension EntityScoresTests {
    /// Word segmentation: BMES tags read strictly, each word an untyped entity.
    @Test func segmentationWords() {
        let chars = ["到", "祖", "国", "内", "地", "去"]
        let words = Entity.read(labels: ["S", "B", "E", "B", "M", "E"], chars: chars, scheme: .bioes).map(\.text)
        #expect(words == ["到", "祖国", "内地去"])
        // An unfinished word (B M without E) and an E without its B are no words.
        #expect(Entity.read(labels: ["S", "B", "M", "E", "B", "M"], chars: chars, scheme: .bioes).map(\.text) == ["到", "祖国内"])
        #expect(Entity.read(labels: ["E", "S", "B", "S", "M", "E"], chars: chars, scheme: .bioes).map(\.text) == ["祖", "内"])
        let scores = EntityScores.score(gold: [["S", "B", "E", "B", "M", "E"]], predicted: [["S", "B", "E", "S", "B", "E"]], scheme: .bioes).overall
        #expect((scores.found, scores.gold, scores.right) == (4, 3, 2))
    }

    @Test func typedBIOESAndSchemeDetection() {
        let chars = ["新", "华", "社", "北", "京"]
        #expect(Entity.read(labels: ["B-ORG", "I-ORG", "E-ORG", "B-LOC", "E-PER"], chars: chars, scheme: .bioes)
                == [Entity(type: "ORG", start: 0, end: 3, text: "新华社")])
        #expect(TagScheme.detect(["B-PER", "I-PER", "O"]) == .bio)
        #expect(TagScheme.detect(["B-PER", "S-PER", "O"]) == .bios)
        #expect(TagScheme.detect(["B", "M", "E", "S"]) == .bioes)
        #expect(TagScheme.detect(["S-LOC", "E-LOC"]) == .bioes)
    }
}
