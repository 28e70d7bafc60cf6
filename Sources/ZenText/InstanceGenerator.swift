import ZenTensor

/// Makes pre-training instances from a corpus (spec section 7): next-sentence pairs, whole n-gram
/// masking, and the n-gram hits over the masked tokens.
///
/// Every line that has a next line in its document is the first text (A) of one instance per
/// epoch, in corpus order; the last line of a document is a second text (B) only, so that the
/// labels stay balanced. B is A's next line half of the time (label 0), else a random line
/// (label 1) of another document, or, when the corpus is one document, any line but A and its
/// next. Each instance draws from a generator of its own, seeded from the seed, the epoch and
/// its index: an epoch is the same whichever threads make its instances, and every epoch has
/// pairs and masks of its own.
public struct InstanceGenerator: Sendable {
    public struct Options: Sendable, Equatable {
        /// The most tokens masked in one instance.
        public var maxPredictions: Int
        /// The share of the real tokens (those other than `[CLS]` and `[SEP]`) masked, in (0, 1].
        public var maskedLMProbability: Double
        public var seed: UInt64

        public init(maxPredictions: Int = 20, maskedLMProbability: Double = 0.15, seed: UInt64 = 42) {
            (self.maxPredictions, self.maskedLMProbability, self.seed) = (maxPredictions, maskedLMProbability, seed)
        }
    }

    /// The two lines of an instance, as corpus line numbers.
    public struct SentencePair: Sendable, Equatable {
        public var first: Int
        public var second: Int
        /// B is a random line, not A's next (`next_sentence_label` 1).
        public var isRandom: Bool
    }

    /// The shortest `maxSeqLength` that leaves a token of A and of B beside `[CLS]` and two `[SEP]`s.
    public static let minimumMaxSeqLength = 5

    /// Its tokenizer, lexicon, `maxSeqLength` and n-gram slots make the instances.
    public let builder: FeatureBuilder
    public let corpus: PreTrainingCorpus
    public let options: Options
    /// The line of each instance's A: every line but the last of its document.
    private let firstLines: [Int32]
    private let maskId: Int32
    /// What a token replaced by a random one becomes: any id but the special and `[unusedN]` tokens.
    private let replacementIds: [Int32]

    public init(builder: FeatureBuilder, corpus: PreTrainingCorpus, options: Options) throws(TextError) {
        precondition(builder.maxSeqLength >= Self.minimumMaxSeqLength, "InstanceGenerator: max_seq_length \(builder.maxSeqLength)")
        precondition(options.maxPredictions >= 1 && options.maskedLMProbability > 0 && options.maskedLMProbability <= 1,
                     "InstanceGenerator: \(options)")
        let vocabulary = builder.tokenizer.vocabulary
        guard let maskId = vocabulary.maskId else {
            throw .unusablePreTrainingData("the vocabulary (vocab.txt) has no \(SpecialToken.mask) token, which masking needs")
        }
        let special = Set([SpecialToken.padding, SpecialToken.unknown, SpecialToken.classifier, SpecialToken.separator, SpecialToken.mask])
        replacementIds = vocabulary.tokens.indices.filter { !special.contains(vocabulary.tokens[$0]) && !Self.isUnused(vocabulary.tokens[$0]) }
            .map { Int32($0) }
        guard !replacementIds.isEmpty else {
            throw .unusablePreTrainingData("the vocabulary (vocab.txt) has only special tokens: masking needs ordinary ones to put in")
        }
        let files = corpus.paths.joined(separator: ", ")
        guard corpus.lineCount > 0 else {
            throw .unusablePreTrainingData("the corpus (\(files)) is empty: it has no line with text; "
                + "give it documents of one sentence or paragraph a line, separated by blank lines")
        }
        firstLines = (0..<corpus.documentCount).flatMap { corpus.lines(ofDocument: $0).dropLast() }.map { Int32($0) }
        guard !firstLines.isEmpty else {
            throw .unusablePreTrainingData("the corpus (\(files)) has \(corpus.lineCount) documents of one line each, so no line "
                + "has a next one to pair with; put the lines of a document one after another, documents separated by blank lines")
        }
        guard corpus.documentCount > 1 || corpus.lineCount >= 3 else {
            throw .unusablePreTrainingData("the corpus (\(files)) is one document of 2 lines: a random second sentence needs "
                + "another document or a third line")
        }
        (self.builder, self.corpus, self.options, self.maskId) = (builder, corpus, options, maskId)
    }

    /// Instances per epoch: the lines that have a next line in their document.
    public var instanceCount: Int { firstLines.count }

    /// The lines of instance `index` (in `0..<instanceCount`) of `epoch`.
    public func pair(_ index: Int, epoch: Int) -> SentencePair {
        var random = generator(index, epoch: epoch)
        return pair(index, using: &random)
    }

    /// Instance `index` (in `0..<instanceCount`) of `epoch`.
    public func instance(_ index: Int, epoch: Int) -> PreTrainingInstance {
        var random = generator(index, epoch: epoch)
        let pair = pair(index, using: &random)
        var a = Array(corpus.tokens(ofLine: pair.first)), b = Array(corpus.tokens(ofLine: pair.second))
        FeatureBuilder.truncatePair(&a, &b, toFit: builder.maxSeqLength)
        let vocabulary = builder.tokenizer.vocabulary
        var ids = [vocabulary.classifierId] + a + [vocabulary.separatorId] + b + [vocabulary.separatorId]
        let segments = [Int32](repeating: 0, count: a.count + 2) + [Int32](repeating: 1, count: b.count + 1)

        let positions = maskedPositions(a: a, b: b, using: &random)
        let trueIds = positions.map { ids[$0] }
        for position in positions {
            switch UInt8.random(in: 0..<10, using: &random) {
            case 0..<8: ids[position] = maskId
            case 8: ids[position] = replacementIds.randomElement(using: &random)!
            default: break   // the token stays itself
            }
        }
        // Over the masked tokens: a masked n-gram is no hit, so the hits leak nothing masked.
        return PreTrainingInstance(tokens: ids.map(vocabulary.token(of:)), inputIds: ids, segmentIds: segments,
                                   maskedPositions: positions.map { Int32($0) }, maskedIds: trueIds,
                                   nextSentenceLabel: pair.isRandom ? 1 : 0, ngrams: builder.keptNgrams(in: ids[...]))
    }

    private func pair(_ index: Int, using random: inout SplitMix64) -> SentencePair {
        let first = Int(firstLines[index])
        guard Bool.random(using: &random) else { return SentencePair(first: first, second: first + 1, isRandom: false) }
        // Uniform over the lines outside `excluded`, which is a contiguous run of lines.
        let excluded = corpus.documentCount > 1 ? corpus.lines(ofDocument: corpus.document(ofLine: first)) : first..<(first + 2)
        let drawn = Int.random(in: 0..<(corpus.lineCount - excluded.count), using: &random)
        return SentencePair(first: first, second: drawn < excluded.lowerBound ? drawn : drawn + excluded.count, isRandom: true)
    }

    /// The positions in `[CLS] a [SEP] b [SEP]` to mask, ascending: the greedy n-gram units of
    /// each text, shuffled together, taken whole while the count stays within the budget (a unit
    /// that would pass it is skipped for the smaller ones after it).
    private func maskedPositions(a: [Int32], b: [Int32], using random: inout SplitMix64) -> [Int] {
        var units: [Range<Int>] = []
        for (text, offset) in [(a, 1), (b, a.count + 2)] {
            var start = offset
            for length in builder.ngrams.greedyUnits(in: text[...]) {
                units.append(start..<(start + length))
                start += length
            }
        }
        units.shuffle(using: &random)
        // Python's round (half to even), as the reference's scripts compute such counts.
        let share = (options.maskedLMProbability * Double(a.count + b.count)).rounded(.toNearestOrEven)
        let budget = min(options.maxPredictions, max(1, Int(share)))
        var positions: [Int] = []
        for unit in units where positions.count + unit.count <= budget {
            positions += unit
            if positions.count == budget { break }
        }
        return positions.sorted()
    }

    /// A generator of its own for each instance: the seed, then the epoch, then the index are
    /// mixed through SplitMix64's output function, so that neighbouring instances and epochs get
    /// unrelated streams.
    private func generator(_ index: Int, epoch: Int) -> SplitMix64 {
        var state = options.seed
        for part in [UInt64(epoch), UInt64(index)] {
            var mixer = SplitMix64(seed: state)
            state = mixer.next() ^ part
        }
        var mixer = SplitMix64(seed: state)
        return SplitMix64(seed: mixer.next())
    }

    /// `[unused0]`, `[unused1]`, …: the placeholders of BERT vocabularies.
    private static func isUnused(_ token: String) -> Bool {
        let scalars = Array(token.unicodeScalars)
        let prefix = Array("[unused".unicodeScalars)
        guard scalars.count > prefix.count + 1, scalars.starts(with: prefix), scalars.last == "]" else { return false }
        return scalars[prefix.count..<(scalars.count - 1)].allSatisfy { ("0"..."9").contains($0) }
    }
}
