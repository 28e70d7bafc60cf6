import ArgumentParser
import Foundation
import ZenModel
import ZenText

extension NgramWeighting: ExpressibleByArgument {}

extension Precision: ExpressibleByArgument {}

/// `--max-seq-length` inside what the feature builder accepts.
func validateMaxSeqLength(_ maxSeqLength: Int) throws {
    guard FeatureBuilder.maxSeqLengthRange.contains(maxSeqLength) else {
        throw ValidationError(TextError.invalidMaxSeqLength(maxSeqLength).description)
    }
}

/// The checkpoint a command runs.
struct ModelOptions: ParsableArguments {
    @Option(help: "Checkpoint directory (config.json, vocab.txt, ngram.txt, model.safetensors or pytorch_model.bin).")
    var model: String

    @Option(help: "fp32 (exact, the default) or bf16 (bfloat16 weights and products, float32 accumulation).")
    var precision: Precision = .fp32

    func load() throws -> ZenModel { try ZenModel(directory: model, precision: precision) }
}

/// The options every JSON Lines command shares.
struct LinesOptions: ParsableArguments {
    @Option(help: "Maximum tokens per input, [CLS] and [SEP] included (3...4096).")
    var maxSeqLength: Int

    @Option(help: "Fusion matrix weighting: frequency, reference-sequence, reference-token or none; default: the one the model was fine-tuned with (ngram_weighting in config.json), else frequency.")
    var weighting: NgramWeighting?

    @Option(help: "Input JSON Lines file.")
    var input: String

    @Option(help: "Output JSON Lines file; written only when every line succeeded.")
    var output: String

    func validate() throws { try validateMaxSeqLength(maxSeqLength) }

    func requireTokenTask(_ isTokenTask: Bool) throws {
        if let weighting, weighting == .referenceToken, !isTokenTask {
            throw ValidationError(TextError.weightingNeedsTokenTask(weighting).description)
        }
    }

    /// `--weighting`, else the model's own.
    func weighting(for config: ZenConfig?) -> NgramWeighting { weighting ?? config?.ngramWeighting ?? .frequency }

    /// Turns every input line into one output line with `transform` and writes them atomically;
    /// a failure names its line.
    func transformLines(parallel: Bool, _ transform: @escaping @Sendable (JSONLine) throws -> String) throws {
        let lines = try readJSONLines(input)
        let path = input
        let wrapped: @Sendable (JSONLine) throws -> String = { line in
            do {
                return try transform(line)
            } catch let error as InputLineError {
                throw error
            } catch {
                throw InputLineError(path: path, line: line.number, message: "\(error)")
            }
        }
        let outputs = parallel ? try concurrentMap(lines, wrapped) : try lines.map(wrapped)
        try writeAtomically(outputs, to: output)
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
