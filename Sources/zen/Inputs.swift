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

    /// The input's non-blank lines; with `--format text`, each as the JSON object `{"text": line}`.
    func readLines() throws -> [JSONLine] {
        let lines = try TextFile.jsonLines(at: input)
        guard format == .text else { return lines }
        return try lines.map { line in
            var object = line
            object.text = try JSONOutput.string(["text": line.text])
            return object
        }
    }

    /// Turns every input line into one output line with `transform` and writes them in order, a
    /// chunk at a time, through `OutputFile`: a failure names its line and leaves no output file.
    /// Shows progress on a terminal and ends with a summary on standard error.
    func transformLines(_ command: String, parallel: Bool, _ transform: @escaping @Sendable (JSONLine) throws -> any Encodable) throws {
        let lines = try readLines()
        let encode: @Sendable (JSONLine) throws -> Data = { line in
            do {
                return try JSONOutput.encode(transform(line)) + Data("\n".utf8)
            } catch let error as TextError {
                if case .invalidLine = error { throw error }
                throw line.failure("\(error)")
            } catch {
                throw line.failure("\(error)")
            }
        }
        let progress = ProgressReporter(total: lines.count, startStep: 0)
        // Enough lines a chunk to keep every thread busy, few enough to show progress often.
        let chunkSize = parallel ? 64 * ComputeThreads.count : 8
        do {
            try OutputFile.write(to: output) { file in
                for start in stride(from: 0, to: lines.count, by: chunkSize) {
                    let chunk = Array(lines[start..<min(lines.count, start + chunkSize)])
                    for data in parallel ? try concurrentMap(chunk, encode) : try chunk.map(encode) { try file.write(data) }
                    progress.advance(to: start + chunk.count, unit: "lines")
                }
            }
        } catch let error as OutputError {
            throw error.naming("--output")
        }
        let seconds = progress.elapsed
        progress.log(String(format: "zen %@: %d line%@ in %.1f s (%.1f lines/s), written to %@", command, lines.count, lines.count == 1 ? "" : "s", seconds,
                            Double(lines.count) / max(seconds, 1e-9), OutputFile.displayName(of: output)))
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
