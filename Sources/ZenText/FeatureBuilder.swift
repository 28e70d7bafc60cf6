import Foundation

/// Everything the network is fed for one input (spec section 4).
public struct InputFeatures: Sendable, Equatable {
    /// `[CLS] … [SEP]` (and `… [SEP]` again for a pair); no padding.
    public var inputIds: [Int32]
    public var segmentIds: [Int32]
    /// Token tasks with labels: one id per token (`[CLS]`/`[SEP]` included), 0 on tokens that
    /// continue a word.
    public var labelIds: [Int32]?
    /// Token tasks: for each input word that fit (a prefix of the words), the index of its first
    /// token, or nil for a word that makes no token.
    public var wordStarts: [Int?]?
    /// The kept n-grams, one per n-gram slot; the remaining slots are padding (id 0).
    public var ngrams: [NgramMatch]
    public var fusionMatrix: FusionMatrix

    public init(inputIds: [Int32], segmentIds: [Int32], labelIds: [Int32]? = nil, ngrams: [NgramMatch], fusionMatrix: FusionMatrix) {
        self.inputIds = inputIds
        self.segmentIds = segmentIds
        self.labelIds = labelIds
        self.ngrams = ngrams
        self.fusionMatrix = fusionMatrix
        wordStarts = nil
    }

    /// The n-gram ids padded with zeros to all 128 slots, as the model consumes them.
    public var paddedNgramIds: [Int32] {
        ngrams.map(\.id) + [Int32](repeating: 0, count: fusionMatrix.columnCount - ngrams.count)
    }
}

/// How a task's inputs become features: a text or text pair (`sequenceFeatures`), or a
/// sequence of characters with one label each (`tokenFeatures`).
public enum InputLayout: String, Sendable, CaseIterable {
    case sequence, token
}

/// An ordered label list for token tasks; ids start at 1 (0 is padding). `[CLS]` and `[SEP]`
/// carry labels of their own and are appended when the list does not name them.
public struct LabelSet: Sendable, Equatable {
    public let names: [String]
    private let ids: [String: Int32]

    public init(_ names: [String]) {
        var names = names
        for special in [SpecialToken.classifier, SpecialToken.separator] where !names.contains(special) {
            names.append(special)
        }
        self.names = names
        var ids: [String: Int32] = [:]
        for (index, name) in names.enumerated() where ids[name] == nil { ids[name] = Int32(index + 1) }
        self.ids = ids
    }

    public func id(of label: String) throws(TextError) -> Int32 {
        guard let id = ids[label] else { throw .unknownLabel(label, known: names) }
        return id
    }
}

/// Which `[MASK]`s of a text are the mask token.
public enum MaskMarking: Sendable {
    /// Only a whole whitespace-delimited word, as the reference tokenizer reads it (spec
    /// section 2): `很[MASK]好` has one (a Chinese character is a word of its own), `很[MASK]，`
    /// and `[MASK][MASK]` none.
    case reference
    /// Every literal `[MASK]`, wherever it stands, as transformers' tokenizers read it:
    /// `很[MASK]，` has one, `[MASK][MASK]` two.
    case literal
}

/// Turns texts, text pairs and labelled word lists into `InputFeatures` exactly as the reference
/// pipelines do, for one `maxSeqLength` and n-gram weighting.
public struct FeatureBuilder: Sendable {
    public static let maxSeqLengthRange = 3...4096

    public let tokenizer: BertTokenizer
    public let ngrams: NgramDictionary
    public let maxSeqLength: Int
    public let weighting: NgramWeighting
    /// N-gram slots per input: the reference's `max_ngram_in_seq`, 128 for every released
    /// model; a new model may have fewer (`max_ngrams` in its config).
    public let ngramSlots: Int
    /// The length the n-gram cap is computed at: an input of `n` tokens keeps its first
    /// `ceil(n / ngramCapLength · ngramSlots)` n-grams. The reference computes it at
    /// `maxSeqLength`, so the same text gets other n-grams at another length; a model trained at
    /// one length keeps seeing the n-grams it was trained on when this is that length.
    public let ngramCapLength: Int

    /// `ngramCapLength` nil: `maxSeqLength`, as the reference.
    public init(tokenizer: BertTokenizer, ngrams: NgramDictionary, maxSeqLength: Int,
                weighting: NgramWeighting = .frequency, ngramSlots: Int = NgramDictionary.slotCount,
                ngramCapLength: Int? = nil) throws(TextError) {
        guard Self.maxSeqLengthRange.contains(maxSeqLength) else { throw .invalidMaxSeqLength(maxSeqLength) }
        if let ngramCapLength, !Self.maxSeqLengthRange.contains(ngramCapLength) { throw .invalidMaxSeqLength(ngramCapLength) }
        precondition((1...NgramDictionary.slotCount).contains(ngramSlots), "FeatureBuilder: \(ngramSlots) n-gram slots")
        self.tokenizer = tokenizer
        self.ngrams = ngrams
        self.maxSeqLength = maxSeqLength
        self.weighting = weighting
        self.ngramSlots = ngramSlots
        self.ngramCapLength = ngramCapLength ?? maxSeqLength
    }

    private var vocabulary: Vocabulary { tokenizer.vocabulary }

    /// Classification layout: `[CLS] A [SEP]`, or `[CLS] A [SEP] B [SEP]` for a non-empty pair.
    /// `masks` says which `[MASK]`s of the texts are the mask token.
    public func sequenceFeatures(text: String, pair: String? = nil, masks: MaskMarking = .reference) throws(TextError) -> InputFeatures {
        guard weighting != .referenceToken else { throw .weightingNeedsTokenTask(weighting) }
        var a = encode(text, masks: masks)
        // The reference tests `if text_b:`, so an empty pair is a single text; a pair that
        // tokenizes to nothing still shortens A to L-3 but adds no second [SEP].
        var b: [Int32] = []
        if let pair, !pair.isEmpty {
            b = encode(pair, masks: masks)
            Self.truncatePair(&a, &b, toFit: maxSeqLength)
        } else if a.count > maxSeqLength - 2 {
            a.removeLast(a.count - (maxSeqLength - 2))
        }
        var ids = [vocabulary.classifierId] + a + [vocabulary.separatorId]
        var segments = [Int32](repeating: 0, count: ids.count)
        if !b.isEmpty {
            ids += b + [vocabulary.separatorId]
            segments += [Int32](repeating: 1, count: b.count + 1)
        }
        return features(inputIds: ids, segmentIds: segments, labelIds: nil)
    }

    /// Token-task layout over a list of words (one character each in char-per-line data). Words
    /// that tokenize to nothing are dropped with their label; words are taken while they fit.
    /// Without a `labelSet`, labels get ids in their order of first appearance.
    public func tokenFeatures(words: [String], labels: [String]? = nil, labelSet: LabelSet? = nil) throws(TextError) -> InputFeatures {
        var ids = [vocabulary.classifierId]
        var labelIds: [Int32]?
        var wordLabels: [Int32] = []
        var separatorLabel: Int32 = 0
        if let labels {
            // Like the reference, labels past the last word are ignored; too few is an error.
            guard labels.count >= words.count else { throw .labelCountMismatch(words: words.count, labels: labels.count) }
            let labelSet = labelSet ?? LabelSet(Self.orderOfFirstAppearance(labels))
            for label in labels.prefix(words.count) { wordLabels.append(try labelSet.id(of: label)) }
            labelIds = [try labelSet.id(of: SpecialToken.classifier)]
            separatorLabel = try labelSet.id(of: SpecialToken.separator)
        }
        var pieces: [Int32] = []
        var wordStarts: [Int?] = []
        for (index, word) in words.enumerated() {
            pieces.removeAll(keepingCapacity: true)
            tokenizer.encode(word, into: &pieces)
            if ids.count - 1 + pieces.count > maxSeqLength - 2 { break }
            wordStarts.append(pieces.isEmpty ? nil : ids.count)
            guard !pieces.isEmpty else { continue }
            ids += pieces
            labelIds? += [wordLabels[index]] + [Int32](repeating: 0, count: pieces.count - 1)
        }
        ids.append(vocabulary.separatorId)
        labelIds?.append(separatorLabel)
        var features = features(inputIds: ids, segmentIds: [Int32](repeating: 0, count: ids.count), labelIds: labelIds)
        features.wordStarts = wordStarts
        return features
    }

    /// Token ids of `text`; with `.literal` masks the text is cut at each literal `[MASK]`, the
    /// pieces are tokenized on their own and the mask id goes between them (what transformers
    /// does with added tokens: it splits them out before tokenizing).
    private func encode(_ text: String, masks: MaskMarking) -> [Int32] {
        guard masks == .literal, let maskId = vocabulary.maskId else { return tokenizer.encode(text) }
        let scalars = text.unicodeScalars
        let marker = Array(SpecialToken.mask.unicodeScalars)
        var ids: [Int32] = []
        var pieceStart = scalars.startIndex
        var index = scalars.startIndex
        while index != scalars.endIndex {
            if scalars[index...].starts(with: marker) {
                tokenizer.encode(String(Substring(scalars[pieceStart..<index])), into: &ids)
                ids.append(maskId)
                index = scalars.index(index, offsetBy: marker.count)
                pieceStart = index
            } else {
                index = scalars.index(after: index)
            }
        }
        tokenizer.encode(String(Substring(scalars[pieceStart...])), into: &ids)
        return ids
    }

    /// Shortens a pair until `[CLS] A [SEP] B [SEP]` has at most `maxSeqLength` tokens: one token
    /// at a time from the end of the longer text, from B when they are equally long (the
    /// reference's `_truncate_seq_pair`).
    public static func truncatePair(_ a: inout [Int32], _ b: inout [Int32], toFit maxSeqLength: Int) {
        while a.count + b.count > maxSeqLength - 3 {
            if a.count > b.count { a.removeLast() } else { b.removeLast() }
        }
    }

    /// The n-gram hits of `tokens` (section 4) that an input gets: sorted by id, the first
    /// `ceil(len(tokens) / ngramCapLength · ngramSlots)`, and never more than the slots (which an
    /// input longer than `ngramCapLength` would otherwise ask for).
    public func keptNgrams(in tokens: ArraySlice<Int32>) -> [NgramMatch] {
        let keep = min(ngramSlots, Int((Double(tokens.count) / Double(ngramCapLength) * Double(ngramSlots)).rounded(.up)))
        return Array(ngrams.matches(in: tokens).prefix(keep))
    }

    private static func orderOfFirstAppearance(_ labels: [String]) -> [String] {
        var seen = Set<String>()
        return labels.filter { seen.insert($0).inserted }
    }

    private func features(inputIds: [Int32], segmentIds: [Int32], labelIds: [Int32]?) -> InputFeatures {
        // The reference NER script searches the tokens between [CLS] and [SEP], so its n-gram
        // positions (and matrix rows) are one to the left of the characters they cover.
        let searched = weighting == .referenceToken ? inputIds.dropFirst().dropLast() : inputIds[...]
        let matches = keptNgrams(in: searched)
        let matrix = FusionMatrix(matches: matches, rowCount: maxSeqLength, weighting: weighting, columnCount: ngramSlots)
        return InputFeatures(inputIds: inputIds, segmentIds: segmentIds, labelIds: labelIds,
                             ngrams: matches, fusionMatrix: matrix)
    }
}

extension FeatureBuilder {
    /// Loads `vocab.txt` and `ngram.txt` from a model directory, and its n-gram slot count
    /// (`max_ngrams`) from `config.json` when it has one.
    public init(directory: String, maxSeqLength: Int, weighting: NgramWeighting = .frequency) throws(TextError) {
        guard Self.maxSeqLengthRange.contains(maxSeqLength) else { throw .invalidMaxSeqLength(maxSeqLength) }
        let tokenizer = try BertTokenizer(vocabularyAt: directory + "/vocab.txt")
        let ngrams = try NgramDictionary(contentsOf: directory + "/ngram.txt", tokenizer: tokenizer)
        var slots = NgramDictionary.slotCount
        let configPath = directory + "/config.json"
        if FileManager.default.fileExists(atPath: configPath) {
            let data = try TextFile.contents(of: configPath, kind: .regularFile)
            let config: JSONValue
            do { config = try JSONInput.parse(data) } catch { throw .unreadableFile(path: configPath, reason: "not valid JSON: \(error)") }
            switch config {
            case .object(let fields) where fields["max_ngrams"] == nil: break
            case .object(let fields):
                guard case .integer(let count)? = fields["max_ngrams"], count >= 1 else {
                    throw .unreadableFile(path: configPath, reason: "\"max_ngrams\" must be a positive integer")
                }
                slots = Int(min(count, Int64(NgramDictionary.slotCount)))
            default: throw .unreadableFile(path: configPath, reason: "not a JSON object")
            }
        }
        try self.init(tokenizer: tokenizer, ngrams: ngrams, maxSeqLength: maxSeqLength, weighting: weighting, ngramSlots: slots)
    }
}
