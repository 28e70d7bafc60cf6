import Foundation
import Testing
import ZenText
import ZenTraining

@Suite struct DatasetTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path

    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ds-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func peoplesDaily() throws {
        let sentences = try Datasets.readTagged(Self.data + "/peoples-daily-ner/dev.char.bio")
        #expect(sentences.count == 4533)
        #expect(sentences.allSatisfy { $0.chars.count == $0.labels.count && !$0.chars.isEmpty })
        #expect(Set(sentences.flatMap(\.labels)).isSubset(of: ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]))
    }

    @Test func oddTaggedFiles() throws {
        let path = try file("-DOCSTART- O\n\n中\tB-LOC\n国 I-LOC\r\n　 O\n\n\n美 S-LOC\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sentences = try Datasets.readTagged(path)
        #expect(sentences == [TaggedSentence(chars: ["中", "国", "　"], labels: ["B-LOC", "I-LOC", "O"]),
                              TaggedSentence(chars: ["美"], labels: ["S-LOC"])])
        let bad = try file("中 B-LOC\n国\n")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(throws: TextError.invalidLine(path: bad, line: 2, reason: "expected a character and a tag, separated by a tab or a space")) {
            try Datasets.readTagged(bad)
        }
        let empty = try file("\n\n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: DatasetError.empty(path: empty)) { try Datasets.readTagged(empty) }
    }

    @Test func clueClassification() throws {
        let rows = try Datasets.readClassification(Self.data + "/sentiment/dev.json")
        #expect(rows.count == 1741)
        #expect(Set(rows.compactMap(\.label)) == ["positive", "negative"])
        let path = try file(#"{"sentence1": "a", "sentence2": "b", "label": "-", "id": 1}"# + "\n" + #"{"sentence1": "c", "sentence2": "d", "label": "entailment", "id": 2}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pairs = try Datasets.readClassification(path, fields: ClassificationFields(text: "sentence1", pair: "sentence2"))
        #expect(pairs == [ClassificationExample(id: "2", text: "c", pair: "d", label: "entailment")])
        #expect(throws: TextError.invalidLine(path: path, line: 1, reason: #"no text field "text" or "sentence"; the line has "id", "label", "sentence1", "sentence2"; name the text field with --text-field"#)) {
            try Datasets.readClassification(path)
        }
        #expect(throws: TextError.unreadableFile(path: "/nonexistent", reason: "no such file")) { try Datasets.readClassification("/nonexistent") }
    }
}
