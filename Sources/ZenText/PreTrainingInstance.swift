import Foundation

/// One pre-training example with its masking already drawn (spec section 7): a sentence pair
/// `[CLS] A [SEP] B [SEP]` whose masked tokens are replaced, the true ids at those positions, the
/// next-sentence label, and the n-gram hits found over the masked tokens. One JSON object a line
/// of `instances.jsonl`, the fields named as the reference's pregenerated data names them.
public struct PreTrainingInstance: Sendable, Equatable, Codable {
    /// The tokens of `inputIds`, for reading; nothing is computed from them.
    public var tokens: [String]
    public var inputIds: [Int32]
    /// 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`.
    public var segmentIds: [Int32]
    public var maskedPositions: [Int32]
    /// The true token ids at `maskedPositions`.
    public var maskedIds: [Int32]
    /// 1 when B is a random text, 0 when B follows A.
    public var nextSentenceLabel: Int32
    /// The kept n-gram hits over the masked tokens, sorted by id, at most one per n-gram slot.
    public var ngrams: [NgramMatch]

    public init(tokens: [String], inputIds: [Int32], segmentIds: [Int32], maskedPositions: [Int32], maskedIds: [Int32],
                nextSentenceLabel: Int32, ngrams: [NgramMatch]) {
        self.tokens = tokens
        self.inputIds = inputIds
        self.segmentIds = segmentIds
        self.maskedPositions = maskedPositions
        self.maskedIds = maskedIds
        self.nextSentenceLabel = nextSentenceLabel
        self.ngrams = ngrams
    }

    /// The segment of each hit's first token: the n-gram token types pre-training feeds.
    public var ngramSegmentIds: [Int32] { ngrams.map { segmentIds[Int($0.start)] } }

    /// What the network is fed: the frequency-weighted fusion matrix of the hits over `ngramSlots`
    /// columns, one row per token.
    public func features(ngramSlots: Int = NgramDictionary.slotCount) -> InputFeatures {
        InputFeatures(inputIds: inputIds, segmentIds: segmentIds, ngrams: ngrams,
                      fusionMatrix: FusionMatrix(matches: ngrams, rowCount: inputIds.count, weighting: .frequency, columnCount: ngramSlots))
    }

    /// Why this instance cannot be trained on with a vocabulary of `vocabularySize` ids, at most
    /// `maxSeqLength` tokens and `ngramSlots` slots over a lexicon of `lexiconSize` entries; nil when it can.
    public func problem(vocabularySize: Int, lexiconSize: Int, maxSeqLength: Int, ngramSlots: Int) -> String? {
        let length = inputIds.count
        guard length >= 2 else { return "\"input_ids\" has \(length) tokens; an instance is at least [CLS] and [SEP]" }
        guard length <= maxSeqLength else {
            return "\"input_ids\" has \(length) tokens, more than the model's max_seq_length \(maxSeqLength); pregenerate with a smaller --max-seq-length"
        }
        guard tokens.count == length else { return "\"tokens\" has \(tokens.count) entries and \"input_ids\" \(length)" }
        guard segmentIds.count == length else { return "\"segment_ids\" has \(segmentIds.count) entries and \"input_ids\" \(length)" }
        if let bad = inputIds.first(where: { !(0..<Int32(vocabularySize)).contains($0) }) {
            return "\"input_ids\" has id \(bad), outside the vocabulary's 0..<\(vocabularySize)"
        }
        if let bad = segmentIds.first(where: { $0 != 0 && $0 != 1 }) { return "\"segment_ids\" has \(bad); segment ids are 0 or 1" }
        guard maskedPositions.count == maskedIds.count else {
            return "\"masked_lm_positions\" has \(maskedPositions.count) entries and \"masked_lm_ids\" \(maskedIds.count)"
        }
        if let bad = maskedPositions.first(where: { !(1..<Int32(length)).contains($0) }) {
            return "\"masked_lm_positions\" has \(bad), outside the tokens after [CLS] (1..<\(length))"
        }
        guard Set(maskedPositions).count == maskedPositions.count else { return "\"masked_lm_positions\" names a position twice" }
        if let bad = maskedIds.first(where: { !(0..<Int32(vocabularySize)).contains($0) }) {
            return "\"masked_lm_ids\" has id \(bad), outside the vocabulary's 0..<\(vocabularySize)"
        }
        guard nextSentenceLabel == 0 || nextSentenceLabel == 1 else {
            return "\"next_sentence_label\" is \(nextSentenceLabel); it is 0 (B follows A) or 1 (B is random)"
        }
        guard ngrams.count <= ngramSlots else { return "\(ngrams.count) n-gram hits, more than the model's \(ngramSlots) n-gram slots" }
        for hit in ngrams {
            guard (1...Int32(lexiconSize)).contains(hit.id) else {
                return "\"ngram_ids\" has id \(hit.id), outside the lexicon's 1...\(lexiconSize)"
            }
            guard hit.length >= 1, hit.start >= 0, hit.start + hit.length <= length else {
                return "the n-gram hit at \(hit.start) of length \(hit.length) does not lie within the \(length) tokens"
            }
            guard hit.frequency >= 0 else { return "\"ngram_freqs\" has \(hit.frequency); frequencies are not negative" }
        }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case tokens, inputIds = "input_ids", segmentIds = "segment_ids", maskedPositions = "masked_lm_positions",
             maskedIds = "masked_lm_ids", nextSentenceLabel = "next_sentence_label", ngramIds = "ngram_ids",
             ngramStarts = "ngram_starts", ngramLengths = "ngram_lengths", ngramFrequencies = "ngram_freqs",
             ngramSegmentIds = "ngram_segment_ids"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tokens = try container.decode([String].self, forKey: .tokens)
        inputIds = try container.decode([Int32].self, forKey: .inputIds)
        segmentIds = try container.decode([Int32].self, forKey: .segmentIds)
        maskedPositions = try container.decode([Int32].self, forKey: .maskedPositions)
        maskedIds = try container.decode([Int32].self, forKey: .maskedIds)
        nextSentenceLabel = try container.decode(Int32.self, forKey: .nextSentenceLabel)
        let ids = try container.decode([Int32].self, forKey: .ngramIds)
        let starts = try container.decode([Int32].self, forKey: .ngramStarts)
        let lengths = try container.decode([Int32].self, forKey: .ngramLengths)
        let frequencies = try container.decode([Int64].self, forKey: .ngramFrequencies)
        let ngramSegments = try container.decode([Int32].self, forKey: .ngramSegmentIds)
        for (key, count) in [(CodingKeys.ngramStarts, starts.count), (.ngramLengths, lengths.count), (.ngramFrequencies, frequencies.count),
                             (.ngramSegmentIds, ngramSegments.count)] where count != ids.count {
            throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                   debugDescription: "has \(count) entries and \"ngram_ids\" \(ids.count); every n-gram field has one per hit")
        }
        ngrams = (0..<ids.count).map { NgramMatch(id: ids[$0], start: starts[$0], length: lengths[$0], frequency: frequencies[$0]) }
        // The n-gram segment ids are not a field of their own in the network's input: they are
        // the segment of each hit's first token, so a file that says otherwise is refused.
        if let start = ngrams.first?.start, ngrams.allSatisfy({ $0.start >= 0 && Int($0.start) < segmentIds.count }),
           ngramSegmentIds != ngramSegments {
            throw DecodingError.dataCorruptedError(forKey: .ngramSegmentIds, in: container,
                                                   debugDescription: "is not the segment of each hit's first token (from \"segment_ids\", first hit at \(start))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(inputIds, forKey: .inputIds)
        try container.encode(segmentIds, forKey: .segmentIds)
        try container.encode(maskedPositions, forKey: .maskedPositions)
        try container.encode(maskedIds, forKey: .maskedIds)
        try container.encode(nextSentenceLabel, forKey: .nextSentenceLabel)
        try container.encode(ngrams.map(\.id), forKey: .ngramIds)
        try container.encode(ngrams.map(\.start), forKey: .ngramStarts)
        try container.encode(ngrams.map(\.length), forKey: .ngramLengths)
        try container.encode(ngrams.map(\.frequency), forKey: .ngramFrequencies)
        try container.encode(ngramSegmentIds, forKey: .ngramSegmentIds)
    }
}

extension PreTrainingInstance {
    /// Every instance of an `instances.jsonl` file, in file order; `problem` (e.g.
    /// `problem(vocabularySize:…)` for the model being trained) refuses an instance by line.
    public static func read(contentsOf path: String, problem: (PreTrainingInstance) -> String? = { _ in nil }) throws(TextError) -> [PreTrainingInstance] {
        try TextFile.jsonLines(at: path).map { line throws(TextError) in
            let instance = try line.decode(PreTrainingInstance.self)
            if let reason = problem(instance) { throw line.failure(reason) }
            return instance
        }
    }
}
