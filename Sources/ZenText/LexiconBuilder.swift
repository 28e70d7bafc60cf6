import Foundation

/// Builds the PMI n-gram lexicon of ZEN 2.0 (spec section 7, "The lexicon"; T-DNA §3.1) from a
/// raw corpus, one text a line, over the tokenizer's tokens:
///
/// 1. count every token c(a), every adjacent pair of tokens c(ab), and the tokens N;
/// 2. in each line, glue adjacent tokens a, b while PMI(a, b) = log(N·c(ab) / (c(a)·c(b))) is at
///    least `minPMI` (`[UNK]` never glues); count every maximal glued segment of 2…`maxLength`
///    tokens (longer ones are not kept); keep the segments counted at least `minCount` times whose
///    text tokenizes back to them and holds no comma;
/// 3. re-count the kept n-grams over the corpus: every occurrence of their tokens, at every
///    position, overlapping ones too, as `NgramDictionary` matches them in a text. A segment's
///    occurrences are among them, so the re-count is never below `minCount`.
///
/// Lines are independent: nothing glues or matches across a line end. The first pass reads the
/// text a block at a time (never whole) and tokenizes it; the later ones read its token ids back
/// (`LexiconCorpus`). Each block is cut among `threads` workers that count into tables of their
/// own, summed after the pass, so the result does not depend on the number of threads or the size
/// of the blocks.
public struct LexiconBuilder: Sendable {
    public let tokenizer: BertTokenizer
    public let options: LexiconOptions
    public let threads: Int
    /// About how many bytes of the corpus are read, and held, at a time.
    public let blockBytes: Int

    public init(tokenizer: BertTokenizer, options: LexiconOptions,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, blockBytes: Int = 1 << 22) throws(TextError) {
        try options.validate()
        (self.tokenizer, self.options) = (tokenizer, options)
        (self.threads, self.blockBytes) = (max(1, threads), max(1, blockBytes))
    }

    /// The lexicon of the corpus files `paths` (`-` is standard input; pipes are read to their end).
    /// `progress(done, total)` is called after each block, in bytes of the regular files among
    /// `paths` over the three passes.
    public func build(corpus paths: [String], progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> Lexicon {
        let corpus = try LexiconCorpus(paths: paths, threads: threads, blockBytes: blockBytes)

        let (unigrams, pairs, lines, tokens) = try countTokens(corpus, progress)
        let glue = gluingPairs(unigrams: unigrams, pairs: pairs, tokens: tokens)
        let segments = try countSegments(corpus, glue: glue, progress)

        var ngrams: [(ids: [Int32], text: String)] = []
        var unwritable = 0
        for (ids, count) in segments where count >= options.minCount {
            if let text = tokenizer.text(of: ids), !text.unicodeScalars.contains(",") {
                ngrams.append((ids, text))
            } else {
                unwritable += 1
            }
        }
        let frequencies = try countOccurrences(corpus, of: ngrams.map(\.ids), progress)
        var entries = zip(ngrams, frequencies).map { LexiconEntry(ngram: $0.text, frequency: $1) }
        entries.sort(by: Lexicon.precedes)
        if let maxNgrams = options.maxNgrams, entries.count > maxNgrams { entries.removeSubrange(maxNgrams...) }
        return Lexicon(entries: entries, lines: lines, tokens: tokens, unwritable: unwritable)
    }

    // MARK: - The passes

    /// Pass 1: c(a) by token id, c(ab) of the adjacent pairs without `[UNK]`, lines, N.
    private func countTokens(_ corpus: LexiconCorpus, _ progress: LexiconProgress) throws -> (unigrams: [Int64], pairs: PairCounts, lines: Int, tokens: Int) {
        struct Counts {
            var unigrams: [Int64]
            var pairs = PairCounts()
            var lines = 0, tokens = 0
        }
        let unknown = tokenizer.vocabulary.unknownId
        let vocabularySize = tokenizer.vocabulary.count
        var workers = try corpus.tokenize(with: tokenizer, progress, state: { Counts(unigrams: [Int64](repeating: 0, count: vocabularySize)) }) { counts, ids in
            counts.lines += 1
            counts.tokens += ids.count
            for id in ids { counts.unigrams[Int(id)] += 1 }
            for index in ids.indices.dropFirst() where ids[index - 1] != unknown && ids[index] != unknown {
                counts.pairs.add(PairCounts.key(ids[index - 1], ids[index]))
            }
        }
        var total = workers.removeFirst()
        for counts in workers {
            for id in counts.unigrams.indices { total.unigrams[id] += counts.unigrams[id] }
            counts.pairs.forEach { total.pairs.add(PairCounts.key($0, $1), $2) }
            total.lines += counts.lines
            total.tokens += counts.tokens
        }
        return (total.unigrams, total.pairs, total.lines, total.tokens)
    }

    /// The pairs whose PMI reaches `minPMI`. The arithmetic is in doubles, in this order, so that
    /// `scripts/lexicon.py` decides every pair alike.
    private func gluingPairs(unigrams: [Int64], pairs: PairCounts, tokens: Int) -> PairCounts {
        var glue = PairCounts()
        pairs.forEach { first, second, count in
            let pmi = log(Double(tokens) * Double(count) / (Double(unigrams[Int(first)]) * Double(unigrams[Int(second)])))
            if pmi >= options.minPMI { glue.add(PairCounts.key(first, second)) }
        }
        return glue
    }

    /// Pass 2: every maximal glued segment of 2…`maxLength` tokens, with its count.
    private func countSegments(_ corpus: LexiconCorpus, glue: PairCounts, _ progress: LexiconProgress) throws -> [(ids: [Int32], count: Int)] {
        struct Segments {
            var table = SequenceTable<Int32>(capacity: 1 << 12)
            var counts: [Int] = []

            mutating func add(_ key: UnsafeBufferPointer<Int32>, hash: UInt64, count: Int) {
                let (entry, inserted) = table.insert(key, hash: hash)
                if inserted { counts.append(0) }
                counts[entry] += count
            }
        }
        let maxLength = options.maxLength
        var workers = try corpus.reread(pass: 2, progress, state: { Segments() }) { segments, ids in
            var start = 0
            for end in ids.indices where end + 1 == ids.count || glue.value(PairCounts.key(ids[end], ids[end + 1])) == 0 {
                if (2...maxLength).contains(end + 1 - start) {
                    let segment = UnsafeBufferPointer(rebasing: ids[start...end])
                    segments.add(segment, hash: SequenceTable.hash(segment), count: 1)
                }
                start = end + 1
            }
        }
        var total = workers.removeFirst()
        for segments in workers {
            for entry in 0..<segments.table.count {
                let (key, hash) = segments.table.key(entry)
                key.withUnsafeBufferPointer { total.add($0, hash: hash, count: segments.counts[entry]) }
            }
        }
        return (0..<total.table.count).map { (Array(total.table.key($0).key), total.counts[$0]) }
    }

    /// Pass 3: how often each of `ngrams` occurs, at any position.
    private func countOccurrences(_ corpus: LexiconCorpus, of ngrams: [[Int32]], _ progress: LexiconProgress) throws -> [Int64] {
        guard !ngrams.isEmpty else { return [] }
        var building = NgramTable(capacity: ngrams.count * options.maxLength)
        for (index, ids) in ngrams.enumerated() { building.insert(ids, id: Int32(index + 1), frequency: 0) }
        let table = building
        let maxLength = options.maxLength
        let workers = try corpus.reread(pass: 3, progress, state: { [Int64](repeating: 0, count: ngrams.count) }) { counts, ids in
            for start in ids.indices {
                table.walk(ids, from: start, maxLength: maxLength) { _, id, _ in counts[Int(id) - 1] += 1 }
            }
        }
        return workers.dropFirst().reduce(into: workers[0]) { total, counts in
            for index in total.indices { total[index] += counts[index] }
        }
    }
}
