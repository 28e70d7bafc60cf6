/// The thresholds of the PMI n-gram lexicon (`zen lexicon`, spec section 7, "The lexicon").
public struct LexiconOptions: Sendable, Equatable {
    /// Adjacent tokens a, b glue while log(N·c(ab) / (c(a)·c(b))) is at least this.
    public var minPMI: Double
    /// A glued segment is kept when it occurs, as a whole segment, at least this often.
    public var minCount: Int
    /// Segments of more tokens are not kept (nor any part of them).
    public var maxLength: Int
    /// Keep only this many n-grams, the most frequent; nil keeps all.
    public var maxNgrams: Int?

    /// Chosen on the 6.4 MB pre-training corpus (README, "zen lexicon"): 20,530 n-grams, mostly
    /// words and names (56% are in jieba's dictionary, 84% of the 1,000 most frequent).
    public static let defaultMinPMI = 2.0
    public static let defaultMinCount = 3
    /// The longest n-gram a model matches (`NgramDictionary.maxNgramLength - 1`).
    public static let maxLengthRange = 2...(NgramDictionary.maxNgramLength - 1)

    public init(minPMI: Double = defaultMinPMI, minCount: Int = defaultMinCount,
                maxLength: Int = maxLengthRange.upperBound, maxNgrams: Int? = nil) {
        (self.minPMI, self.minCount, self.maxLength, self.maxNgrams) = (minPMI, minCount, maxLength, maxNgrams)
    }

    /// Refuses a value the build cannot use, naming the option and what it must be.
    public func validate() throws(TextError) {
        guard minPMI.isFinite else {
            throw .invalidOption(name: "min-pmi", value: "\(minPMI)", requirement: "it must be a finite number")
        }
        guard minCount >= 1 else {
            throw .invalidOption(name: "min-count", value: "\(minCount)", requirement: "it must be at least 1")
        }
        guard Self.maxLengthRange.contains(maxLength) else {
            throw .invalidOption(name: "max-length", value: "\(maxLength)",
                                 requirement: "it must be between \(Self.maxLengthRange.lowerBound) and \(Self.maxLengthRange.upperBound) (tokens)")
        }
        if let maxNgrams, maxNgrams < 1 {
            throw .invalidOption(name: "max-ngrams", value: "\(maxNgrams)", requirement: "it must be at least 1")
        }
    }
}

/// One line of `ngram.txt`.
public struct LexiconEntry: Sendable, Equatable {
    /// The n-gram's text, which the tokenizer turns back into its tokens.
    public var ngram: String
    /// How often its tokens occur in the corpus, at any position.
    public var frequency: Int64

    public init(ngram: String, frequency: Int64) {
        (self.ngram, self.frequency) = (ngram, frequency)
    }
}

/// A lexicon built from a corpus, most frequent n-gram first.
public struct Lexicon: Sendable {
    /// Most frequent first; equal frequencies by the n-gram's text (code point order).
    public var entries: [LexiconEntry]
    /// Lines of the corpus, blank ones included.
    public var lines: Int
    /// Tokens of the corpus (N).
    public var tokens: Int
    /// Segments that passed `minCount` but were dropped: their text holds a comma (the separator
    /// of `ngram.txt`) or does not tokenize back to their tokens.
    public var unwritable: Int

    /// Writes `n-gram,frequency` lines, the format `NgramDictionary` reads.
    public func write(to sink: OutputSink) throws {
        for entry in entries { try sink.write("\(entry.ngram),\(entry.frequency)\n") }
    }

    /// The order of the file: most frequent first, then by text. UTF-8 order is code point order,
    /// so the order does not depend on Unicode's collation (and is Python's `sorted` of the text).
    static func precedes(_ a: LexiconEntry, _ b: LexiconEntry) -> Bool {
        a.frequency != b.frequency ? a.frequency > b.frequency : a.ngram.utf8.lexicographicallyPrecedes(b.ngram.utf8)
    }
}

extension BertTokenizer {
    /// The text of a token sequence that tokenizes back to it, where one exists: a `##` piece
    /// joins the token before it, a CJK ideograph or punctuation mark joins its neighbours (the
    /// tokenizer splits those off anyway), and other words are separated by a space. nil when the
    /// text would not give back `ids` (a `[MASK]` glued to a word, a token lower-casing changes).
    func text(of ids: [Int32]) -> String? {
        let table = ScalarTable.shared
        var text = String.UnicodeScalarView()
        var previous: Unicode.Scalar?
        for id in ids {
            var piece = vocabulary.token(of: id).unicodeScalars[...]
            if previous != nil, piece.count > 2, piece.starts(with: "##".unicodeScalars) {
                piece = piece.dropFirst(2)
            } else if let last = previous, let first = piece.first,
                      table.flags(last.value).isDisjoint(with: [.cjk, .punctuation]),
                      table.flags(first.value).isDisjoint(with: [.cjk, .punctuation]) {
                text.append(" ")
            }
            text.append(contentsOf: piece)
            previous = piece.last
        }
        let string = String(text)
        return encode(string) == ids ? string : nil
    }
}
