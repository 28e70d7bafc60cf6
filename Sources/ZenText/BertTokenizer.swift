/// The BERT tokenizer of ZEN 2.0 (spec section 2): basic tokenization with lower-casing and accent
/// stripping, then greedy longest-match-first WordPiece over a `Vocabulary`.
///
/// It works on Unicode scalars throughout, as the Python reference works on code points. The work
/// is one pass over the text that cuts it into words, then per word a table-driven normalization
/// and WordPiece lookups on scalar buffers; no intermediate `String` is built except on the rare
/// words that need Python's context-dependent lower-casing.
public struct BertTokenizer: Sendable {
    public let vocabulary: Vocabulary
    /// Pieces longer than this become `[UNK]` (the reference's `max_input_chars_per_word`).
    public let maxScalarsPerWord = 100

    public init(vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        _ = ScalarTable.shared
    }

    public init(vocabularyAt path: String) throws(TextError) {
        self.init(vocabulary: try Vocabulary(contentsOf: path))
    }

    /// Token ids of `text`, without `[CLS]`/`[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count)
        encode(text, into: &ids)
        return ids
    }

    /// Token strings of `text`, without `[CLS]`/`[SEP]`.
    public func tokenize(_ text: String) -> [String] {
        encode(text).map(vocabulary.token(of:))
    }

    /// Appends the token ids of `text` to `ids`.
    public func encode(_ text: String, into ids: inout [Int32]) {
        let table = ScalarTable.shared
        var word: [UInt32] = []
        var normalized: [UInt32] = []
        word.reserveCapacity(64)
        normalized.reserveCapacity(64)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let flags = table.flags(value)
            if flags.contains(.whitespace) {
                flush(&word, &normalized, into: &ids)
            } else if flags.contains(.removed) {
                continue
            } else if flags.contains(.cjk) {
                flush(&word, &normalized, into: &ids)
                word.append(value)
                flush(&word, &normalized, into: &ids)
            } else {
                word.append(value)
            }
        }
        flush(&word, &normalized, into: &ids)
    }

    /// Ends the current whitespace-delimited word: normalizes it, splits off punctuation and
    /// WordPieces every piece.
    private func flush(_ word: inout [UInt32], _ normalized: inout [UInt32], into ids: inout [Int32]) {
        guard !word.isEmpty else { return }
        defer { word.removeAll(keepingCapacity: true) }
        if SpecialToken.neverSplit.contains(word) {
            word.withUnsafeBufferPointer { wordPiece($0, into: &ids) }
            return
        }
        normalize(word, into: &normalized)
        let table = ScalarTable.shared
        normalized.withUnsafeBufferPointer { scalars in
            var pieceStart = 0
            for index in 0..<scalars.count where table.flags(scalars[index]).contains(.punctuation) {
                if pieceStart < index { wordPiece(UnsafeBufferPointer(rebasing: scalars[pieceStart..<index]), into: &ids) }
                wordPiece(UnsafeBufferPointer(rebasing: scalars[index...index]), into: &ids)
                pieceStart = index + 1
            }
            if pieceStart < scalars.count { wordPiece(UnsafeBufferPointer(rebasing: scalars[pieceStart...]), into: &ids) }
        }
    }

    /// `strip_accents(word.lower())` of the reference.
    private func normalize(_ word: [UInt32], into output: inout [UInt32]) {
        output.removeAll(keepingCapacity: true)
        let table = ScalarTable.shared
        for value in word {
            if value < 0x80 {
                output.append((0x41...0x5A).contains(value) ? value + 0x20 : value)
                continue
            }
            let flags = table.flags(value)
            if flags.contains(.identity) {
                output.append(value)
            } else if flags.contains(.contextual) {
                output = ScalarTable.normalizeWord(word[...])
                return
            } else {
                table.appendNormalized(value, to: &output)
            }
        }
    }

    /// Greedy longest-match-first WordPiece of one piece; the whole piece is `[UNK]` if any
    /// position cannot be matched.
    private func wordPiece(_ piece: UnsafeBufferPointer<UInt32>, into ids: inout [Int32]) {
        guard !piece.isEmpty else { return }
        guard piece.count <= maxScalarsPerWord else {
            ids.append(vocabulary.unknownId)
            return
        }
        let firstNew = ids.count
        var start = 0
        while start < piece.count {
            let continuation = start > 0
            var end = min(piece.count, start + vocabulary.longestPiece(continuation: continuation))
            var matched: Int32?
            while end > start {
                if let id = vocabulary.pieceId(UnsafeBufferPointer(rebasing: piece[start..<end]), continuation: continuation) {
                    matched = id
                    break
                }
                end -= 1
            }
            guard let id = matched else {
                ids.removeSubrange(firstNew...)
                ids.append(vocabulary.unknownId)
                return
            }
            ids.append(id)
            start = end
        }
    }
}
