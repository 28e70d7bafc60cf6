import ArgumentParser
import Foundation
import ZenTensor
import ZenText

struct BenchTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-text",
        abstract: "Measure loading, tokenization and feature building on a JSON Lines data set.",
        discussion: "Prints one JSON line. scripts/bench_text.py runs it next to the Python tokenizers."
    )

    @Option(help: "Path of vocab.txt.")
    var vocab: String

    @Option(help: "Path of the n-gram lexicon (ngram.txt format).")
    var ngrams: String

    @Option(help: "JSON Lines data set.")
    var input: String

    @Option(help: "Field of each line holding the text.")
    var field: String = "sentence"

    @Option(help: "Maximum sequence length for feature building.")
    var maxSeqLength: Int = 128

    @Option(help: "Passes over the data set; the fastest pass is reported.")
    var repeats: Int = 5

    @Option(help: "Threads for the parallel measurements.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        ComputeThreads.set(threads)
        let loadStart = DispatchTime.now()
        let tokenizer = try BertTokenizer(vocabularyAt: vocab)
        let vocabSeconds = seconds(since: loadStart)
        let dictionary = try NgramDictionary(contentsOf: ngrams, tokenizer: tokenizer)
        let loadSeconds = seconds(since: loadStart)
        let builder = try FeatureBuilder(tokenizer: tokenizer, ngrams: dictionary, maxSeqLength: maxSeqLength)

        let texts = try TextFile.jsonLines(at: input).map { line -> String in
            guard case .object(let object) = try line.decode(JSONValue.self), case .string(let text)? = object[field] else {
                throw line.failure("no string field \"\(field)\"")
            }
            return text
        }
        let tokenCount = texts.reduce(0) { $0 + tokenizer.encode($1).count }

        /// Texts per second, the fastest of `repeats` passes, on one thread or on `threads`.
        func rate(parallel: Bool, _ work: @escaping @Sendable (String) -> Int) throws -> Double {
            var best = Double.infinity
            for _ in 0..<repeats {
                let start = DispatchTime.now()
                let total = parallel ? try concurrentMap(texts, work).reduce(0, +) : texts.reduce(0) { $0 + work($1) }
                best = min(best, seconds(since: start))
                precondition(total > 0, "the measured work must not be optimized away")
            }
            return Double(texts.count) / best
        }
        let tokenize: @Sendable (String) -> Int = { tokenizer.encode($0).count }
        let features: @Sendable (String) -> Int = { (try? builder.sequenceFeatures(text: $0))?.ngrams.count ?? 0 }

        let report: [String: JSONValue] = [
            "texts": .integer(Int64(texts.count)),
            "tokens": .integer(Int64(tokenCount)),
            "vocab_load_s": .measured(vocabSeconds),
            "load_s": .measured(loadSeconds),
            "ngram_entries": .integer(Int64(dictionary.matchableCount)),
            "tokenize_texts_per_s": .measured(try rate(parallel: false, tokenize)),
            "features_texts_per_s": .measured(try rate(parallel: false, features)),
            "threads": .integer(Int64(threads)),
            "tokenize_texts_per_s_parallel": .measured(try rate(parallel: true, tokenize)),
            "features_texts_per_s_parallel": .measured(try rate(parallel: true, features)),
        ]
        print(try JSONOutput.string(report))
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
