import Foundation
import ZenModel
import ZenTensor
import ZenText

/// Writes fine-tuned models as checkpoint directories, and the state a run resumes from.
public enum Checkpoints {
    /// A directory that `ZenModel(directory:)`, `zen predict` and the reference code load:
    /// `config.json` (the source's, with `num_labels`, `id2label`, `label2id` and the n-gram
    /// weighting the head was trained with), `vocab.txt` and `ngram.txt` copied from `source`,
    /// and `model.safetensors` under the reference's tensor names. Each file is written to a
    /// temporary name first, so a failure leaves the previous files whole.
    public static func writeModel(_ model: TrainableModel, source: String, weighting: NgramWeighting, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try writeConfig(model.config, source: source + "/config.json", weighting: weighting, to: directory + "/config.json")
        for file in ["vocab.txt", "ngram.txt"] where URL(fileURLWithPath: source).standardized != URL(fileURLWithPath: directory).standardized {
            try OutputFile.write(try TextFile.contents(of: source + "/" + file), to: directory + "/" + file)
        }
        try SafeTensors.write(model.namedParameters.map { (name: $0.name, data: TensorData($0.tensor)) }, to: directory + "/model.safetensors")
    }

    private static func writeConfig(_ config: ZenConfig, source: String, weighting: NgramWeighting, to path: String) throws {
        var object = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source))) as? [String: Any]) ?? [:]
        let names = (config.id2label ?? [:]).sorted { $0.key < $1.key }
        object["num_labels"] = config.numLabels
        object["id2label"] = Dictionary(uniqueKeysWithValues: names.map { (String($0.key), $0.value) })
        object["label2id"] = Dictionary(names.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        object["ngram_weighting"] = weighting.rawValue
        object["hidden_dropout_prob"] = config.hiddenDropoutProb
        object["attention_probs_dropout_prob"] = config.attentionProbsDropoutProb
        try OutputFile.write(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), to: path)
    }
}

/// Where a run stands, saved beside its model so that `--resume` continues it exactly.
public struct TrainingState: Codable, Sendable, Equatable {
    public var step: Int
    public var options: FineTuningOptions
    public var task: String
    public var labels: [String]
    public var weighting: String
    public var maxSeqLength: Int
    /// The best dev metric so far and the step it was reached at.
    public var bestMetric: Double?
    public var bestStep: Int?

    public init(step: Int, options: FineTuningOptions, task: String, labels: [String], weighting: String, maxSeqLength: Int,
                bestMetric: Double?, bestStep: Int?) {
        (self.step, self.options, self.task, self.labels, self.weighting) = (step, options, task, labels, weighting)
        (self.maxSeqLength, self.bestMetric, self.bestStep) = (maxSeqLength, bestMetric, bestStep)
    }
}

extension Checkpoints {
    /// A resumable checkpoint in `directory`: the model as `writeModel` writes it, the optimizer's
    /// moments (`optimizer.safetensors`, `m.` and `v.` before each name) and `trainer_state.json`.
    public static func writeResumable(_ tuner: FineTuner, state: TrainingState, source: String, to directory: String) throws {
        try writeModel(tuner.model, source: source, weighting: NgramWeighting(rawValue: state.weighting) ?? .frequency, to: directory)
        let moments = tuner.optimizer.firstMoments.map { (name: "m." + $0.key, data: TensorData($0.value)) }
            + tuner.optimizer.secondMoments.map { (name: "v." + $0.key, data: TensorData($0.value)) }
        try SafeTensors.write(moments, to: directory + "/optimizer.safetensors")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try OutputFile.write(try encoder.encode(state), to: directory + "/trainer_state.json")
    }

    public static func readState(_ directory: String) throws -> TrainingState {
        try JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/trainer_state.json")))
    }

    /// The optimizer saved by `writeResumable`.
    public static func readOptimizer(_ directory: String, weightDecay: Double, steps: Int) throws -> AdamW {
        var first: [String: Tensor] = [:], second: [String: Tensor] = [:]
        for (name, data) in try SafeTensors.read(directory + "/optimizer.safetensors") {
            let tensor = Tensor(shape: data.shape, scalars: data.floats())
            if name.hasPrefix("m.") { first[String(name.dropFirst(2))] = tensor } else { second[String(name.dropFirst(2))] = tensor }
        }
        return AdamW(weightDecay: weightDecay, steps: steps, firstMoments: first, secondMoments: second)
    }
}
