import Foundation
import ZenText

/// `../shared/fixtures`, found from this file so that tests run from any working directory.
enum Fixtures {
    static let directory: String = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    /// Every line of a fixture `.jsonl` file.
    static func cases<Case: Decodable>(_ name: String, as type: Case.Type) -> [Case] {
        guard let text = try? String(contentsOfFile: path(name), encoding: .utf8) else {
            fatalError("fixture \(path(name)) is missing: the tests need ../shared beside the repository")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return text.split(separator: "\n").map { try! decoder.decode(type, from: Data($0.utf8)) }
    }

    static let tokenizer = try! BertTokenizer(vocabularyAt: path("vocab.txt"))
    static let ngrams = try! NgramDictionary(contentsOf: path("ngram.txt"), tokenizer: tokenizer)

    static func builder(maxSeqLength: Int, weighting: NgramWeighting = .frequency) -> FeatureBuilder {
        try! FeatureBuilder(tokenizer: tokenizer, ngrams: ngrams, maxSeqLength: maxSeqLength, weighting: weighting)
    }

    /// The label order of `features-token.jsonl` (ids 1...9).
    static let tokenLabels = LabelSet(["B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O", "[CLS]", "[SEP]"])
}

struct SequenceFixture: Decodable, Sendable {
    var text: String
    var textPair: String?
    var maxSeqLength: Int
    var tokens: [String]
    var inputIds: [Int32]
    var segmentIds: [Int32]
    var ngramIds: [Int32]
    var ngramStarts: [Int32]
    var ngramLengths: [Int32]
    var ngramFreqs: [Int64]
    var ngramMatrix: [[Double]]
    var ngramMatrixReferenceSequence: [[Double]]
}

struct TokenFixture: Decodable, Sendable {
    var chars: [String]
    var labels: [String]?
    var maxSeqLength: Int
    var tokens: [String]
    var inputIds: [Int32]
    var labelIds: [Int32]
    var ngramIds: [Int32]
    var ngramStarts: [Int32]
    var ngramLengths: [Int32]
    var ngramFreqs: [Int64]
    var ngramMatrix: [[Double]]
    var referenceTokenNgramIds: [Int32]
    var ngramMatrixReferenceToken: [[Double]]
}

extension InputFeatures {
    var ngramIds: [Int32] { ngrams.map(\.id) }
    var ngramStarts: [Int32] { ngrams.map(\.start) }
    var ngramLengths: [Int32] { ngrams.map(\.length) }
    var ngramFreqs: [Int64] { ngrams.map(\.frequency) }
}

/// Compares a computed fusion matrix with a fixture's non-zero entries (within 1e-6).
func matrixMismatch(_ matrix: FusionMatrix, _ expected: [[Double]]) -> String? {
    let got = matrix.entries
    guard got.count == expected.count else {
        return "\(got.count) non-zero entries, expected \(expected.count)"
    }
    for (entry, want) in zip(got, expected) {
        guard Double(entry.row) == want[0], Double(entry.column) == want[1], abs(Double(entry.value) - want[2]) <= 1e-6 else {
            return "entry [\(entry.row), \(entry.column), \(entry.value)], expected \(want)"
        }
    }
    return nil
}
