/// A stretch of a token task's words that fits `maxSeqLength`, and its features.
public struct TokenWindow: Sendable, Equatable {
    /// The index of the window's first word in the whole word list.
    public var firstWord: Int
    /// `tokenFeatures(words:)` of the window's words; `features.wordStarts` has one entry per word.
    public var features: InputFeatures

    public init(firstWord: Int, features: InputFeatures) {
        (self.firstWord, self.features) = (firstWord, features)
    }

    /// How many words the window covers.
    public var wordCount: Int { features.wordStarts?.count ?? 0 }
}

/// What a token task does with a word list longer than `maxSeqLength`.
public enum LongTexts: String, Sendable, CaseIterable, Codable {
    /// Tags all of it, in overlapping windows.
    case windows
    /// Keeps the words that fit and leaves the rest untagged, as the reference does.
    case truncate
}

extension FeatureBuilder {
    /// Token-task features that cover every word of a list longer than `maxSeqLength`, instead of
    /// cutting it as the reference does: the words as one window when they fit (exactly
    /// `tokenFeatures(words:)`), else overlapping windows of up to `maxSeqLength` tokens, each
    /// starting about half a window after the previous one (as transformers' token-classification
    /// pipelines stride over long texts), so that every word is in some window well away from a
    /// cut edge. Each window is featurized on its own, n-gram cap included.
    ///
    /// A word of more than `maxSeqLength - 2` tokens fits no window: the windows end before it,
    /// and it and the words after it are left out, as truncation leaves them out. With
    /// `.truncate`, the one window is the reference's input, the words that fit.
    public func tokenWindows(words: [String], longTexts: LongTexts = .windows) throws(TextError) -> [TokenWindow] {
        // Most texts fit: then the one window is the whole text, tokenized once.
        let whole = try tokenFeatures(words: words)
        guard longTexts == .windows, (whole.wordStarts?.count ?? 0) < words.count else { return [TokenWindow(firstWord: 0, features: whole)] }
        let capacity = maxSeqLength - 2
        var scratch: [Int32] = []
        let counts = words.map { word -> Int in
            scratch.removeAll(keepingCapacity: true)
            tokenizer.encode(word, into: &scratch)
            return scratch.count
        }
        var windows: [TokenWindow] = []
        var start = 0
        while true {
            // Words are taken while they fit, as `tokenFeatures` takes them.
            var end = start, used = 0
            while end < words.count, used + counts[end] <= capacity {
                used += counts[end]
                end += 1
            }
            windows.append(TokenWindow(firstWord: start, features: try tokenFeatures(words: Array(words[start..<end]))))
            guard end < words.count, counts[end] <= capacity else { break }
            // The next window starts where at most half a window of this one's tokens remains,
            // and with room for the word that did not fit, so that it always gets further.
            let overlapLimit = min(capacity / 2, capacity - counts[end])
            var next = end, overlap = 0
            while next > start + 1, overlap + counts[next - 1] <= overlapLimit {
                overlap += counts[next - 1]
                next -= 1
            }
            start = next
        }
        return windows
    }
}
