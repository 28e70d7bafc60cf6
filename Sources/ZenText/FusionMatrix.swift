import Foundation

/// How the fusion matrix weighs the n-grams covering a character (spec section 4).
public enum NgramWeighting: String, Sendable, CaseIterable {
    /// Each row divided by its sum (in float64): what pre-training used. The default.
    case frequency
    /// The reference classification scripts: float32 weights truncated to integers.
    case referenceSequence = "reference-sequence"
    /// The reference NER script: n-grams searched over the tokens without `[CLS]`, float64
    /// weights truncated to integers.
    case referenceToken = "reference-token"
    /// No n-grams: an all-zero matrix, so the character encoder runs alone. For measuring what
    /// the n-gram encoder adds (the same model and run otherwise).
    case none
}

/// The `[maxSeqLength, 128]` matrix `M` that adds n-gram states to character states (`X += M·G`),
/// kept sparse: column `k` is non-zero only on the rows that n-gram `k` covers.
public struct FusionMatrix: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var row: Int32
        public var column: Int32
        public var value: Float
    }

    public let rowCount: Int
    public let columnCount: Int
    /// The non-zero weights, ordered by row then column.
    public let entries: [Entry]

    /// The weights of `matches` (the kept n-grams, one column each) over `rowCount` rows.
    public init(matches: [NgramMatch], rowCount: Int, weighting: NgramWeighting,
                columnCount: Int = NgramDictionary.slotCount) {
        precondition(matches.count <= columnCount, "more n-grams than n-gram slots")
        self.rowCount = rowCount
        self.columnCount = columnCount
        let coveredRows = matches.reduce(0) { max($0, Int($1.start + $1.length)) }
        precondition(coveredRows <= rowCount, "an n-gram extends past the last row")

        // The reference divides the whole matrix by its row sums (+1e-10); sums of integers are
        // exact in float64, and float32 is what the reference-sequence scripts used.
        var sums64 = [Double](repeating: 0, count: coveredRows)
        var sums32 = [Float](repeating: 0, count: coveredRows)
        for match in matches {
            for row in Int(match.start)..<Int(match.start + match.length) {
                sums64[row] += Double(match.frequency)
                sums32[row] += Float(match.frequency)
            }
        }
        var entries: [Entry] = []
        for (column, match) in matches.enumerated() {
            for row in Int(match.start)..<Int(match.start + match.length) {
                let value: Float
                switch weighting {
                case .frequency:
                    value = Float(Double(match.frequency) / (sums64[row] + 1e-10))
                case .referenceSequence:
                    value = (Float(match.frequency) / (sums32[row] + Float(1e-10))).rounded(.towardZero)
                case .referenceToken:
                    value = Float((Double(match.frequency) / (sums64[row] + 1e-10)).rounded(.towardZero))
                case .none:
                    value = 0
                }
                if value != 0 { entries.append(Entry(row: Int32(row), column: Int32(column), value: value)) }
            }
        }
        entries.sort { ($0.row, $0.column) < ($1.row, $1.column) }
        self.entries = entries
    }

    /// The dense row-major matrix.
    public func dense() -> [Float] {
        var matrix = [Float](repeating: 0, count: rowCount * columnCount)
        for entry in entries { matrix[Int(entry.row) * columnCount + Int(entry.column)] = entry.value }
        return matrix
    }
}
