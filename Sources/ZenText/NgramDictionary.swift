/// One n-gram found in a token sequence.
public struct NgramMatch: Sendable, Equatable {
    /// The n-gram's id in the dictionary (its `ngram.txt` line number + 1).
    public var id: Int32
    /// Index of its first token in the token sequence that was searched.
    public var start: Int32
    /// Number of tokens, 2...7.
    public var length: Int32
    public var frequency: Int64
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
        let lines = try TextFile.lines(at: path)
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

/// Open addressing over token-id sequences; a node is an n-gram, a proper prefix of one, or both.
private struct NgramTable: Sendable {
    private var slots: [Int32]
    private var mask: Int
    private var hashes: [UInt64] = []
    private var keyOffsets: [Int32] = []
    private var keyLengths: [Int32] = []
    private var ids: [Int32] = []            // 0: a prefix only
    private var frequencies: [Int64] = []
    private var keyPool: [Int32] = []
    private(set) var entryCount = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// Hash of a key, extended one token at a time so that a walk reuses the previous length's.
    @inline(__always)
    static func extend(_ hash: UInt64, with token: Int32) -> UInt64 {
        (hash ^ UInt64(UInt32(bitPattern: token))) &* 0x0000_0100_0000_01B3
    }

    static let seed: UInt64 = 0xCBF2_9CE4_8422_2325

    @inline(__always)
    static func slotHash(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash ^ (hash >> 29)) }

    mutating func insert(_ key: [Int32], id: Int32, frequency: Int64) {
        var hash = Self.seed
        for length in 1...key.count {
            hash = Self.extend(hash, with: key[length - 1])
            guard length >= 2 else { continue }
            let node = findOrAdd(key[..<length], hash: hash)
            if length == key.count {
                if ids[node] == 0 { entryCount += 1 }
                ids[node] = id          // a later line with the same key wins
                frequencies[node] = frequency
            }
        }
    }

    private mutating func findOrAdd(_ key: ArraySlice<Int32>, hash: UInt64) -> Int {
        if ids.count * 2 >= slots.count { grow() }
        var slot = Self.slotHash(hash) & mask
        while slots[slot] >= 0 {
            let node = Int(slots[slot])
            if hashes[node] == hash, keyPool[Int(keyOffsets[node])..<Int(keyOffsets[node] + keyLengths[node])].elementsEqual(key) {
                return node
            }
            slot = (slot + 1) & mask
        }
        let node = ids.count
        slots[slot] = Int32(node)
        hashes.append(hash)
        keyOffsets.append(Int32(keyPool.count))
        keyLengths.append(Int32(key.count))
        ids.append(0)
        frequencies.append(0)
        keyPool.append(contentsOf: key)
        return node
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: -1, count: slots.count * 2)
        let biggerMask = bigger.count - 1
        for node in 0..<ids.count {
            var slot = Self.slotHash(hashes[node]) & biggerMask
            while bigger[slot] >= 0 { slot = (slot + 1) & biggerMask }
            bigger[slot] = Int32(node)
        }
        slots = bigger
        mask = biggerMask
    }

    @inline(__always)
    private func find(_ tokens: UnsafeBufferPointer<Int32>, from start: Int, length: Int, hash: UInt64) -> Int? {
        var slot = Self.slotHash(hash) & mask
        while true {
            let node = Int(slots[slot])
            if node < 0 { return nil }
            if hashes[node] == hash, Int(keyLengths[node]) == length {
                let offset = Int(keyOffsets[node])
                var equal = true
                for i in 0..<length where keyPool[offset + i] != tokens[start + i] { equal = false; break }
                if equal { return node }
            }
            slot = (slot + 1) & mask
        }
    }

    func entry(_ key: [Int32]) -> (id: Int32, frequency: Int64)? {
        guard key.count >= 2 else { return nil }
        let hash = key.reduce(Self.seed, Self.extend)
        return key.withUnsafeBufferPointer { tokens in
            guard let node = find(tokens, from: 0, length: key.count, hash: hash), ids[node] != 0 else { return nil }
            return (ids[node], frequencies[node])
        }
    }

    /// Calls `body(length, id, frequency)` for each n-gram starting at `start`, shortest first.
    @inline(__always)
    func walk(_ tokens: UnsafeBufferPointer<Int32>, from start: Int, maxLength: Int,
              _ body: (Int, Int32, Int64) -> Void) {
        let longest = min(maxLength, tokens.count - start)
        guard longest >= 2 else { return }
        var hash = Self.extend(Self.seed, with: tokens[start])
        for length in 2...longest {
            hash = Self.extend(hash, with: tokens[start + length - 1])
            guard let node = find(tokens, from: start, length: length, hash: hash) else { return }
            if ids[node] != 0 { body(length, ids[node], frequencies[node]) }
        }
    }
}
