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
