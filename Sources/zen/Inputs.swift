import ArgumentParser
import Foundation
import ZenModel
import ZenTensor
import ZenText

extension NgramWeighting: ExpressibleByArgument {}

extension Precision: ExpressibleByArgument {}

/// A failure that is the input's fault, reported without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--max-seq-length` inside what the feature builder accepts.
func validateMaxSeqLength(_ maxSeqLength: Int?) throws {
    guard let maxSeqLength else { return }
    guard FeatureBuilder.maxSeqLengthRange.contains(maxSeqLength) else {
        throw ValidationError(TextError.invalidMaxSeqLength(maxSeqLength).description)
    }
}

/// The one rule of every command that runs a model: `--max-seq-length`, else the length the
/// model was fine-tuned at (`max_seq_length` in its config.json), else 128.
func resolvedMaxSeqLength(_ option: Int?, for config: ZenConfig?) -> Int { option ?? config?.maxSeqLength ?? 128 }

let maxSeqLengthHelp = ArgumentHelp(
    "Maximum tokens per input, [CLS] and [SEP] included (3...4096); default: the model's max_seq_length (config.json), else 128.")

/// The checkpoint a command runs.
struct ModelOptions: ParsableArguments {
    @Option(help: "Checkpoint directory (config.json, vocab.txt, ngram.txt, model.safetensors or pytorch_model.bin).")
    var model: String

    @Option(help: "fp32 (exact, the default), bf16 (bfloat16 weights and products, float32 accumulation) or int8 (int8 weights per output channel, inputs per row, int32 accumulation).")
    var precision: Precision = .fp32

    func load() throws -> ZenModel { try ZenModel(directory: model, precision: precision) }
}

/// How many inputs the encoder runs at once.
struct BatchOption: ParsableArguments {
    @Option(help: "Inputs encoded at once (1...4096); a window of 16 batches is read ahead and sorted by length, and the output keeps the input's order.")
    var batchSize: Int = 32

    func validate() throws {
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be 1...4096, got \(batchSize)") }
    }
}

/// How input lines are read.
enum LineFormat: String, ExpressibleByArgument, CaseIterable {
    /// One JSON object a line.
    case jsonl
    /// Every non-blank line is one text, as if it were `{"text": line}`.
    case text
}

/// The options every line-by-line command shares: one output line per non-blank input line.
struct LinesOptions: ParsableArguments {
    @Option(help: maxSeqLengthHelp)
    var maxSeqLength: Int?

    @Option(help: "Fusion matrix weighting: frequency, reference-sequence, reference-token or none; default: the one the model was fine-tuned with (ngram_weighting in config.json), else frequency.")
    var weighting: NgramWeighting?

    @Option(help: "Input file, or - for standard input.")
    var input: String

    @Option(help: "jsonl: one JSON object a line; text: every non-blank line is one text ({\"text\": line}).")
    var format: LineFormat = .jsonl

    @Option(help: "Output JSON Lines file, written only when every line succeeded, or - for standard output (written as lines are done).")
    var output: String

    func validate() throws { try validateMaxSeqLength(maxSeqLength) }

    func requireTokenTask(_ isTokenTask: Bool) throws {
        if let weighting, weighting == .referenceToken, !isTokenTask {
            throw ValidationError(TextError.weightingNeedsTokenTask(weighting).description)
        }
    }

    /// `--weighting`, else the model's own.
    func weighting(for config: ZenConfig?) -> NgramWeighting { weighting ?? config?.ngramWeighting ?? .frequency }

    /// `--max-seq-length`, else the model's own, else 128.
    func maxSeqLength(for config: ZenConfig?) -> Int { resolvedMaxSeqLength(maxSeqLength, for: config) }

    /// The input's non-blank lines, numbered, a window of at least `window` lines at a time (the
    /// last may be shorter), read a block at a time so that an input of any size streams; with
    /// `--format text`, each as the JSON object `{"text": line}`. `body` also gets the fraction
    /// of the input read so far (nil when its size is unknown: a pipe).
    func forEachWindow(_ window: Int, _ body: ([JSONLine], _ fractionRead: Double?) throws -> Void) throws {
        let name = TextFile.displayName(of: input)
        let size = try TextFile.size(of: input)
        var pending: [JSONLine] = []
        var index = 0
        var fraction: Double?
        try TextFile.forEachBlock(at: input) { block, firstLine, bytesRead in
            for (offset, text) in block.enumerated() where !text.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\t" }) {
                let line = JSONLine(path: name, number: firstLine + offset, index: index, text: format == .text ? try JSONOutput.string(["text": text]) : text)
                pending.append(line)
                index += 1
            }
            fraction = size.map { $0 == 0 ? 1 : Double(bytesRead) / Double($0) }
            while pending.count >= window {
                try body(Array(pending[..<window]), fraction)
                pending.removeFirst(window)
            }
        }
        if !pending.isEmpty { try body(pending, fraction) }
    }

    /// Turns every input line into one output line with `transform` and writes them in order
    /// through `OutputFile`: a failure names its line and leaves no output file. Shows progress
    /// on a terminal and ends with a summary on standard error.
    func transformLines(_ command: String, parallel: Bool, _ transform: @escaping @Sendable (JSONLine) throws -> any Encodable) throws {
        // Enough lines a window to keep every thread busy, few enough to show progress often.
        try writeLines(command, window: parallel ? 64 * ComputeThreads.count : 8) { window in
            let encode: @Sendable (JSONLine) throws -> Data = { line in try Self.encode(line) { try transform(line) } }
            return parallel ? try concurrentMap(window, encode) : try window.map(encode)
        }
    }

    /// Turns the input lines into output lines `batchSize` at a time: `decode` reads each line,
    /// and `transform` runs a batch of them (the encoder on several sequences at once). A window
    /// of 16 batches is read ahead and sorted by `length`, so that a batch holds inputs of about
    /// one length and pads little; the results are written in input order. Memory stays that
    /// of one window, whatever the input's size.
    func transformBatches<Input>(_ command: String, batchSize: Int, decode: (JSONLine) throws -> Input, length: (Input) -> Int,
                                 _ transform: ([Input]) throws -> [any Encodable]) throws {
        try writeLines(command, window: 16 * batchSize) { window in
            let inputs = try window.map { line in try Self.failing(line) { try decode(line) } }
            let order = inputs.indices.sorted { length(inputs[$0]) < length(inputs[$1]) }
            var encoded = [Data?](repeating: nil, count: window.count)
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let batch = Array(order[start..<min(order.count, start + batchSize)])
                let results: [any Encodable]
                do {
                    results = try transform(batch.map { inputs[$0] })
                } catch {
                    // Which line of the batch failed: each alone, in input order, names it.
                    for index in batch.sorted() { _ = try Self.failing(window[index]) { try transform([inputs[index]]) } }
                    throw error
                }
                for (index, result) in zip(batch, results) { encoded[index] = try Self.encode(window[index]) { result } }
            }
            return encoded.map { $0! }
        }
    }

    /// The writing frame of both transforms: each window's encoded lines, in order, then the
    /// progress bar; the summary line at the end.
    private func writeLines(_ command: String, window: Int, _ encodeWindow: ([JSONLine]) throws -> [Data]) throws {
        var done = 0
        let progress = ProgressReporter(total: 0, startStep: 0)
        do {
            try OutputFile.write(to: output) { file in
                try forEachWindow(window) { lines, fraction in
                    for data in try encodeWindow(lines) { try file.write(data) }
                    done += lines.count
                    progress.advance(lines: done, fraction: fraction)
                }
            }
        } catch let error as OutputError {
            throw error.naming("--output")
        }
        let seconds = progress.elapsed
        progress.log(String(format: "zen %@: %d line%@ in %.1f s (%.1f lines/s), written to %@", command, done, done == 1 ? "" : "s", seconds,
                            Double(done) / max(seconds, 1e-9), OutputFile.displayName(of: output)))
    }

    /// What `result` makes of `line`, as one output line.
    private static func encode(_ line: JSONLine, _ result: () throws -> any Encodable) throws -> Data {
        try failing(line) { try JSONOutput.encode(result()) + Data("\n".utf8) }
    }

    /// `body`'s value, its failure as an error that names `line` (unless it already names one).
    private static func failing<T>(_ line: JSONLine, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TextError {
            if case .invalidLine = error { throw error }
            throw line.failure("\(error)")
        } catch {
            throw line.failure("\(error)")
        }
    }
}

/// `{"text": ..., "text_pair": ..., "id": ...}`
struct SequenceInput: Decodable {
    var text: String
    var text_pair: String?
    var id: JSONValue?
}

/// `{"chars": [...], "labels": [...], "id": ...}`, or `{"text": ...}` split into its scalars.
struct TokenInput: Decodable {
    var chars: [String]
    var labels: [String]?
    var id: JSONValue?

    private enum CodingKeys: String, CodingKey { case chars, text, labels, id }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.chars) || !container.contains(.text) {
            chars = try container.decode([String].self, forKey: .chars)
        } else {
            chars = try container.decode(String.self, forKey: .text).unicodeScalars.map { String($0) }
        }
        labels = try container.decodeIfPresent([String].self, forKey: .labels)
        id = try container.decodeIfPresent(JSONValue.self, forKey: .id)
    }
}

/// One output line: the input's `id` (when there is one) beside the fields of `result`.
struct OutputLine<Result: Encodable>: Encodable {
    var id: JSONValue?
    var result: Result

    private enum CodingKeys: String, CodingKey { case id }

    func encode(to encoder: any Encoder) throws {
        // The result's fields go into the same object: both ask the encoder for its keyed container.
        try result.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(id, forKey: .id)
    }
}
