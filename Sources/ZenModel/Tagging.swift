import ZenTensor
import ZenText

/// Token classification of one character sequence.
public struct TaggedSequence: Sendable {
    /// `[CLS]`, the tokens of every tagged character, `[SEP]`.
    public var tokens: [String]
    /// One label per input character. Characters that make no token (spaces) are "O", and so
    /// are the characters that were not tagged (see `labeledCount`).
    public var labels: [String]
    /// How many leading characters were tagged: all of them, unless a single word has more
    /// tokens than `maxSeqLength` holds, or the text was truncated (`LongTexts.truncate`);
    /// `labels` past them are not predictions.
    public var labeledCount: Int
    public var entities: [Entity]
    /// `[T, labels]` for every token of `tokens`.
    public var logits: [[Float]]
}

extension ZenModel {
    /// Tags each character of `chars` (a list of one-character strings, or of words).
    public func tag(chars: [String], maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency,
                    ngramCap: NgramCap = .trained, longTexts: LongTexts = .windows) throws -> TaggedSequence {
        try tag(sentences: [chars], maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: ngramCap, longTexts: longTexts)[0]
    }

    /// Tags each Unicode scalar of `text`.
    public func tag(text: String, maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency,
                    ngramCap: NgramCap = .trained, longTexts: LongTexts = .windows) throws -> TaggedSequence {
        try tag(chars: text.unicodeScalars.map { String($0) }, maxSeqLength: maxSeqLength, weighting: weighting,
                ngramCap: ngramCap, longTexts: longTexts)
    }

    /// Tags many character sequences, `batchSize` at a time. A sequence longer than
    /// `maxSeqLength` is tagged whole, in overlapping windows (`FeatureBuilder.tokenWindows`),
    /// or with `longTexts: .truncate` only as far as it fits, as the reference tags it.
    public func tag(sentences: [[String]], maxSeqLength: Int = 128, weighting: NgramWeighting = .frequency,
                    ngramCap: NgramCap = .trained, longTexts: LongTexts = .windows, batchSize: Int = 16) throws -> [TaggedSequence] {
        _ = try requireClassifier(.ner)
        let builder = try featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting, ngramCap: ngramCap)
        let batchSize = max(1, batchSize)
        return try stride(from: 0, to: sentences.count, by: batchSize).flatMap { start in
            let chunk = Array(sentences[start..<min(sentences.count, start + batchSize)])
            let windows = try chunk.map { try builder.tokenWindows(words: $0, longTexts: longTexts) }
            return try tagged(chunk, windows: windows, outputs: encode(windows.flatMap { $0.map(\.features) }))
        }
    }

    /// The token classifier on the encoder outputs of `windows` (of `tokenWindows(words:)`, one
    /// list per text), `outputs` in the order of all the windows one after another: the second
    /// half of `tag`, for callers that batch the encoder themselves.
    public func tagged(_ texts: [[String]], windows: [[TokenWindow]], outputs: [EncoderOutput]) throws -> [TaggedSequence] {
        let classifier = try requireClassifier(.ner)
        precondition(texts.count == windows.count && windows.reduce(0) { $0 + $1.count } == outputs.count,
                     "tagged: one window list per text and one output per window")
        var next = 0
        return zip(texts, windows).map { chars, windows in
            let logits = windows.indices.map { index in
                let rows = classifier(outputs[next + index].sequence)
                return (0..<rows.shape[0]).map { rows.row($0) }
            }
            next += windows.count
            return stitch(chars, windows: windows, logits: logits)
        }
    }

    /// One sequence from its windows' logits: every word's tokens from the window where the word
    /// is furthest from a cut edge (a window edge that is not the start or end of the text),
    /// `[CLS]` from the first window and `[SEP]` from the last.
    private func stitch(_ chars: [String], windows: [TokenWindow], logits: [[[Float]]]) -> TaggedSequence {
        let labeledCount = windows.last.map { $0.firstWord + $0.wordCount } ?? 0
        var rows = [logits[0][0]]
        var tokens = [vocabulary.token(of: windows[0].features.inputIds[0])]
        var labels = [String](repeating: "O", count: chars.count)
        for word in 0..<labeledCount {
            var best: (window: Int, tokens: Range<Int>, distance: Int)?
            for (index, window) in windows.enumerated() where window.firstWord <= word && word < window.firstWord + window.wordCount {
                guard let range = window.tokenRange(ofWord: word - window.firstWord) else { continue }
                let realTokens = window.features.inputIds.count - 2
                let before = window.firstWord == 0 ? Int.max : range.lowerBound - 1
                let after = window.firstWord + window.wordCount == chars.count ? Int.max : realTokens - (range.upperBound - 1)
                if best == nil || min(before, after) > best!.distance { best = (index, range, min(before, after)) }
            }
            guard let best else { continue }
            let window = windows[best.window]
            rows += logits[best.window][best.tokens]
            tokens += window.features.inputIds[best.tokens].map(vocabulary.token(of:))
            let first = logits[best.window][best.tokens.lowerBound]
            let label = first.indices.max { first[$0] < first[$1] } ?? 0
            labels[word] = labelName(label) ?? String(label)
        }
        rows.append(logits[logits.count - 1].last!)
        tokens.append(vocabulary.token(of: windows[windows.count - 1].features.inputIds.last!))
        return TaggedSequence(tokens: tokens, labels: labels, labeledCount: labeledCount,
                              entities: Entity.read(labels: labels, chars: chars, scheme: tagScheme), logits: rows)
    }

    /// The checkpoint's tag scheme, read from its label names.
    public var tagScheme: TagScheme { TagScheme.detect(config.id2label?.values.map { $0 } ?? []) }
}

extension TokenWindow {
    /// The token positions of the window's `index`-th word, or nil for a word that makes no token.
    func tokenRange(ofWord index: Int) -> Range<Int>? {
        guard let starts = features.wordStarts, let start = starts[index] else { return nil }
        let end = starts[(index + 1)...].lazy.compactMap { $0 }.first ?? features.inputIds.count - 1
        return start..<end
    }
}
