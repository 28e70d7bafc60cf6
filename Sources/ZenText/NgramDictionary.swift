/// One n-gram found in a token sequence.
public struct NgramMatch: Sendable, Equatable {
    /// The n-gram's id in the dictionary (its `ngram.txt` line number + 1).
    public var id: Int32
    /// Index of its first token in the token sequence that was searched.
    public var start: Int32
    /// Number of tokens, 2...7.
    public var length: Int32
    public var frequency: Int64

    public init(id: Int32, start: Int32, length: Int32, frequency: Int64) {
        self.id = id
        self.start = start
        self.length = length
        self.frequency = frequency
    }
}

/// The n-gram lexicon of ZEN 2.0 (spec section 3), loaded from `ngram.txt`.
///
/// Each entry is keyed by the token ids its text tokenizes to. The table also holds every proper
/// prefix (of two or more tokens) of every key, so that matching walks forward from each start
/// position and stops at the first token sequence that begins no n-gram, instead of probing all
/// six lengths everywhere.
public struct NgramDictionary: Sendable {
    /// Matches have 2 to `maxNgramLength - 1` tokens (the reference's `max_ngram_len` is 8).
    public static let maxNgramLength = 8
    /// The number of n-gram slots the model has (`max_ngram_in_seq`).
    public static let slotCount = 128

    /// Entries that can match: those whose text tokenizes to 2...7 tokens, none of them `[UNK]`.
    public private(set) var matchableCount = 0
    /// Lines of the file, counted the way ids are (the largest id is `lineCount`).
    public let lineCount: Int

    private var table: NgramTable

    public init(contentsOf path: String, tokenizer: BertTokenizer) throws(TextError) {
        let lines = try TextFile.lines(at: path, kind: .regularFile)
        lineCount = lines.count
        table = NgramTable(capacity: lines.count * 2)
        let vocabulary = tokenizer.vocabulary
        let unknownTokens = Set(vocabulary.tokens.indices.lazy
            .filter { vocabulary.tokens[$0].contains(SpecialToken.unknown) }.map { Int32($0) })
        var key: [Int32] = []
        for (index, line) in lines.enumerated() {
            let fields = Self.pythonStrip(line).split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 2 else { continue }   // skipped, but its line number is used up
            guard let frequency = Self.pythonInt(fields[1]) else {
                throw .invalidFrequency(path: path, line: index + 1, field: String(fields[1]))
            }
            key.removeAll(keepingCapacity: true)
            tokenizer.encode(String(fields[0]), into: &key)
            guard (2..<Self.maxNgramLength).contains(key.count),
                  !key.contains(where: unknownTokens.contains) else { continue }
            table.insert(key, id: Int32(index + 1), frequency: frequency)
        }
        matchableCount = table.entryCount
    }

    /// The entry for a token sequence, if it is one.
    public func lookup(_ tokens: [Int32]) -> (id: Int32, frequency: Int64)? {
        table.entry(tokens)
    }

    /// Every n-gram of 2...7 tokens in `tokens`, in the reference's order: sorted by id, and
    /// equal ids (the same n-gram at several places) by position.
    public func matches(in tokens: ArraySlice<Int32>) -> [NgramMatch] {
        var found: [NgramMatch] = []
        tokens.withUnsafeBufferPointer { tokens in
            for start in 0..<tokens.count {
                table.walk(tokens, from: start, maxLength: Self.maxNgramLength - 1) { length, id, frequency in
                    found.append(NgramMatch(id: id, start: Int32(start), length: Int32(length), frequency: frequency))
                }
            }
        }
        found.sort { ($0.id, $0.start) < ($1.id, $1.start) }
        return found
    }

    /// The units of whole n-gram masking (spec section 7): from the left, the longest n-gram of
    /// 2...7 tokens that starts at the position is one unit, else the token alone. The lengths
    /// of the units in order; they add up to `tokens.count`.
    public func greedyUnits(in tokens: ArraySlice<Int32>) -> [Int] {
        var lengths: [Int] = []
        tokens.withUnsafeBufferPointer { tokens in
            var start = 0
            while start < tokens.count {
                var longest = 1
                // The walk reports the n-grams at `start` shortest first.
                table.walk(tokens, from: start, maxLength: Self.maxNgramLength - 1) { length, _, _ in longest = length }
                lengths.append(longest)
                start += longest
            }
        }
        return lengths
    }

    // MARK: - Python's parsing of a line

    /// `str.strip()`: Python's whitespace is Unicode White_Space plus the separators U+001C...U+001F.
    static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar == " " || (0x09...0x0D).contains(scalar.value) || (0x1C...0x1F).contains(scalar.value) }
        return scalar.properties.isWhitespace
    }

    static func pythonStrip(_ line: String) -> Substring {
        let scalars = line.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isPythonSpace($0) }),
              let last = scalars.lastIndex(where: { !isPythonSpace($0) }) else { return "" }
        return Substring(scalars[first...last])
    }

    /// `int(text)`: surrounding whitespace, an optional sign, decimal digits of any script, and
    /// single underscores between digits.
    static func pythonInt(_ text: Substring) -> Int64? {
        var scalars = pythonStrip(String(text)).unicodeScalars[...]
        var negative = false
        if let sign = scalars.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            scalars = scalars.dropFirst()
        }
        var value: Int64 = 0
        var digits = 0
        var previousWasUnderscore = false
        for scalar in scalars {
            if scalar == "_" {
                guard digits > 0, !previousWasUnderscore else { return nil }
                previousWasUnderscore = true
                continue
            }
            guard scalar.properties.numericType == .decimal,
                  let digit = scalar.properties.numericValue else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            digits += 1
            previousWasUnderscore = false
        }
        guard digits > 0, !previousWasUnderscore else { return nil }
        return negative ? -value : value
    }
}

/// N-grams by token ids. A node is an n-gram, a proper prefix of one (id 0), or both. The
/// dictionary's matching, and the lexicon builder's re-count of its n-grams over the corpus.
struct NgramTable: Sendable {
    private var table: SequenceTable<Int32>
    private var ids: [Int32] = []
    private var frequencies: [Int64] = []
    private(set) var entryCount = 0

    init(capacity: Int) {
        table = SequenceTable(capacity: capacity)
    }

    /// Adds `key` and its prefixes of two or more tokens; a later key equal to an earlier one wins.
    mutating func insert(_ key: [Int32], id: Int32, frequency: Int64) {
        key.withUnsafeBufferPointer { key in
            var hash = SequenceTable<Int32>.extend(SequenceTable<Int32>.seed, with: key[0])
            for length in 2...key.count {
                hash = SequenceTable<Int32>.extend(hash, with: key[length - 1])
                let (node, inserted) = table.insert(UnsafeBufferPointer(rebasing: key[..<length]), hash: hash)
                if inserted {
                    ids.append(0)
                    frequencies.append(0)
                }
                if length == key.count {
                    if ids[node] == 0 { entryCount += 1 }
                    ids[node] = id
                    frequencies[node] = frequency
                }
            }
        }
    }

    func entry(_ key: [Int32]) -> (id: Int32, frequency: Int64)? {
        key.withUnsafeBufferPointer { key in
            guard let node = table.find(key, hash: SequenceTable.hash(key)), ids[node] != 0 else { return nil }
            return (ids[node], frequencies[node])
        }
    }

    /// Calls `body(length, id, frequency)` for each n-gram starting at `start`, shortest first,
    /// stopping at the first length that no n-gram begins with.
    @inline(__always)
    func walk(_ tokens: UnsafeBufferPointer<Int32>, from start: Int, maxLength: Int,
              _ body: (Int, Int32, Int64) -> Void) {
        let longest = min(maxLength, tokens.count - start)
        guard longest >= 2 else { return }
        var hash = SequenceTable<Int32>.extend(SequenceTable<Int32>.seed, with: tokens[start])
        for length in 2...longest {
            hash = SequenceTable<Int32>.extend(hash, with: tokens[start + length - 1])
            guard let node = table.find(UnsafeBufferPointer(rebasing: tokens[start..<(start + length)]), hash: hash) else { return }
            if ids[node] != 0 { body(length, ids[node], frequencies[node]) }
        }
    }
}
