import ArgumentParser
import Foundation
import ZenText

struct LexiconCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lexicon",
        abstract: "Build an n-gram lexicon (ngram.txt) from a raw corpus by pointwise mutual information.",
        discussion: """
        Over the tokens of every line (the model's tokenizer, lower-casing): counts each token and each \
        adjacent pair; glues adjacent tokens a, b while PMI = log(N·c(ab) / (c(a)·c(b))) >= --min-pmi \
        ([UNK] never glues, nothing glues across lines); keeps the maximal glued segments of 2 to \
        --max-length tokens that occur at least --min-count times; counts every occurrence of each over \
        the corpus and writes `n-gram,frequency` lines, most frequent first (then by text). The text is read \
        once, a block at a time, and tokenized on every core; the later passes read the token ids back from \
        a scratch file in TMPDIR (4 bytes a token). On the 6.4 MB pre-training corpus the defaults give about \
        20,000 n-grams, mostly words; on a larger corpus, raise --min-count.
        """
    )

    @Option(parsing: .upToNextOption, help: "Corpus files, one text a line; - for standard input.")
    var corpus: [String]

    @Option(help: "WordPiece vocabulary (vocab.txt) whose tokens the n-grams are made of.")
    var vocab: String

    @Option(help: "The lexicon to write, `n-gram,frequency` lines (written only when complete), or - for standard output.")
    var output: String

    @Option(help: "Glue adjacent tokens while their PMI is at least this (natural log).")
    var minPmi: Double = LexiconOptions.defaultMinPMI

    @Option(help: "Keep n-grams that occur at least this often as a glued segment (1 or more).")
    var minCount: Int = LexiconOptions.defaultMinCount

    @Option(help: "Longest n-gram, in tokens (\(LexiconOptions.maxLengthRange.lowerBound)...\(LexiconOptions.maxLengthRange.upperBound)); longer glued segments are not kept.")
    var maxLength: Int = LexiconOptions.maxLengthRange.upperBound

    @Option(help: "Write only this many n-grams, the most frequent (default: all).")
    var maxNgrams: Int?

    var options: LexiconOptions {
        LexiconOptions(minPMI: minPmi, minCount: minCount, maxLength: maxLength, maxNgrams: maxNgrams)
    }

    func validate() throws {
        do {
            try options.validate()
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        try refuseOverwritingInputs()
        let start = Date()
        let builder = try LexiconBuilder(tokenizer: BertTokenizer(vocabularyAt: vocab), options: options)
        let progress = ProgressReporter(total: 100, startStep: 0)
        let lexicon: Lexicon
        do {
            // The build runs inside the write, so that an output that cannot be written fails at
            // once rather than after the corpus, and a failed build leaves no file behind.
            lexicon = try OutputFile.write(to: output) { file in
                let lexicon = try builder.build(corpus: corpus) { done, total in
                    // In percent of the three passes; a corpus of streams only has no size to measure.
                    if total > 0 { progress.advance(to: done * 100 / total, unit: "%") }
                }
                try refuseEmpty(lexicon)
                try lexicon.write(to: file)
                return lexicon
            }
        } catch let error as OutputError where error.option == nil {   // the scratch file's errors name TMPDIR
            throw error.naming("--output")
        }
        progress.log(String(format: "zen lexicon: %d lines, %d tokens, %d n-grams in %.1f s, written to %@", lexicon.lines,
                            lexicon.tokens, lexicon.entries.count, Date().timeIntervalSince(start), OutputFile.displayName(of: output)))
    }

    /// No lexicon is not a lexicon: say what to change instead of writing an empty file.
    private func refuseEmpty(_ lexicon: Lexicon) throws {
        let files = corpus.joined(separator: ", ")
        guard lexicon.tokens > 0 else {
            throw CLIError("the corpus (\(files)) holds no tokens: give files with text, one text a line")
        }
        guard lexicon.entries.isEmpty else { return }
        var advice = ["lower --min-pmi (now \(minPmi))", "--min-count (now \(minCount))"]
        if maxLength < LexiconOptions.maxLengthRange.upperBound { advice.append("raise --max-length (now \(maxLength))") }
        throw CLIError("no n-gram in \(files) (\(lexicon.lines) lines, \(lexicon.tokens) tokens) passed the thresholds; "
                       + advice.joined(separator: " or ") + ", or give a larger corpus")
    }

    /// The output is written by renaming a new file over it: never over the corpus or the vocabulary.
    private func refuseOverwritingInputs() throws {
        var target = stat()
        guard output != "-", stat(output, &target) == 0 else { return }
        for (option, path) in corpus.map({ ("--corpus", $0) }) + [("--vocab", vocab)] {
            var input = stat()
            if stat(path, &input) == 0, input.st_dev == target.st_dev, input.st_ino == target.st_ino {
                throw CLIError("--output \(output) is the \(option) file \(path); choose another --output")
            }
        }
    }
}
