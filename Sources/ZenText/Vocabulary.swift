/// A WordPiece vocabulary: `vocab.txt`, one token a line, the 0-based line number its id.
///
/// Lookups during tokenization never build a `String`: tokens are keyed by their Unicode scalars
/// in an open-addressing table, word-initial pieces and `##` continuation pieces apart, with a
/// direct array for the single-scalar pieces that make up almost all Chinese text.
public struct Vocabulary: Sendable {
    /// Token text by id (duplicates keep their own line).
    public let tokens: [String]
    public let unknownId: Int32
    public let classifierId: Int32
    public let separatorId: Int32
    /// `[MASK]`, which a vocabulary for masked-language modelling has.
    public let maskId: Int32?

    private let startTable: ScalarKeyTable
    private let continuationTable: ScalarKeyTable

    public var count: Int { tokens.count }

    public init(contentsOf path: String) throws(TextError) {
        let lines = try TextFile.lines(at: path, kind: .regularFile)
        guard !lines.isEmpty else { throw .emptyVocabulary(path: path) }
        try self.init(tokens: lines, path: path)
    }

    /// `path` only names the source in errors.
    public init(tokens: [String], path: String = "vocab.txt") throws(TextError) {
        self.tokens = tokens
        var start = ScalarKeyTable(capacity: tokens.count)
        var continuation = ScalarKeyTable(capacity: tokens.count / 4)
        for (id, token) in tokens.enumerated() {
            let scalars = token.unicodeScalars.map(\.value)
            // Like the reference's dict, a token that appears twice maps to its last line.
            start.insert(scalars[...], id: Int32(id))
            if scalars.count > 2, scalars[0] == 0x23, scalars[1] == 0x23 {
                continuation.insert(scalars[2...], id: Int32(id))
            }
        }
        startTable = start
        continuationTable = continuation
        func require(_ token: String) throws(TextError) -> Int32 {
            guard let id = start.id(of: Array(token.unicodeScalars.map(\.value))[...]) else {
                throw .missingSpecialToken(token: token, path: path)
            }
            return id
        }
        unknownId = try require(SpecialToken.unknown)
        classifierId = try require(SpecialToken.classifier)
        separatorId = try require(SpecialToken.separator)
        maskId = start.id(of: Array(SpecialToken.mask.unicodeScalars.map(\.value))[...])
    }

    /// The id of a whole token, as `vocab[token]` would give it.
    public func id(of token: String) -> Int32? {
        startTable.id(of: Array(token.unicodeScalars.map(\.value))[...])
    }

    public func token(of id: Int32) -> String { tokens[Int(id)] }

    /// The id of `scalars` as a word-initial piece, or as a `##` continuation piece.
    @inline(__always)
    func pieceId(_ scalars: UnsafeBufferPointer<UInt32>, continuation: Bool) -> Int32? {
        continuation ? continuationTable.id(of: scalars) : startTable.id(of: scalars)
    }

    /// No piece longer than this (in scalars) can match.
    func longestPiece(continuation: Bool) -> Int {
        continuation ? continuationTable.longestKey : startTable.longestKey
    }
}

enum SpecialToken {
    static let unknown = "[UNK]"
    static let classifier = "[CLS]"
    static let separator = "[SEP]"
    static let mask = "[MASK]"
    static let padding = "[PAD]"
    /// Words the basic tokenizer passes through without lower-casing or punctuation splitting.
    static let neverSplit: [[UInt32]] = [unknown, separator, padding, classifier, mask]
        .map { $0.unicodeScalars.map(\.value) }
}

/// Token ids by scalar sequence, with a direct array for single BMP scalars.
struct ScalarKeyTable: Sendable {
    private var table: SequenceTable<UInt32>
    private var ids: [Int32] = []
    /// Direct ids for single-scalar keys in the BMP; -1 where absent.
    private var singles: [Int32]

    var longestKey: Int { table.longestKey }

    init(capacity: Int) {
        table = SequenceTable(capacity: capacity)
        singles = [Int32](repeating: -1, count: ScalarTable.planeSize)
    }

    /// Maps `key` to `id`; a key inserted again takes the new id, like a Python dict.
    mutating func insert(_ key: ArraySlice<UInt32>, id: Int32) {
        if key.count == 1, key.first! < ScalarTable.planeSize { singles[Int(key.first!)] = id }
        key.withUnsafeBufferPointer { key in
            let (entry, inserted) = table.insert(key, hash: SequenceTable.hash(key))
            if inserted { ids.append(id) } else { ids[entry] = id }
        }
    }

    func id(of key: ArraySlice<UInt32>) -> Int32? {
        key.withUnsafeBufferPointer { id(of: $0) }
    }

    @inline(__always)
    func id(of key: UnsafeBufferPointer<UInt32>) -> Int32? {
        if key.count == 1, key[0] < ScalarTable.planeSize {
            let id = singles[Int(key[0])]
            return id >= 0 ? id : nil
        }
        return table.find(key, hash: SequenceTable.hash(key)).map { ids[$0] }
    }
}
