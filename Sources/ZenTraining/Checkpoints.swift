import Foundation
import ZenModel
import ZenTensor
import ZenText

/// Writes model directories, and the state a run resumes from.
public enum Checkpoints {
    /// A directory that `ZenModel(directory:)`, `zen predict` and the reference code load:
    /// `config.json` (`config` written over the keys of `baseConfig`, the source's file, so
    /// that keys we do not read are kept), `vocab.txt`, `ngram.txt`, and `model.safetensors`
    /// with every parameter of `model` under the reference's names. Each file is written to a
    /// temporary name first, so a failure leaves the previous files whole.
    public static func writeModel(_ model: some ParameterWalkable, config: ZenConfig, baseConfig: [String: Any] = [:],
                                  vocabulary: Data, ngrams: Data, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try OutputFile.write(try JSONSerialization.data(withJSONObject: config.jsonObject(over: baseConfig), options: [.prettyPrinted, .sortedKeys]),
                             to: directory + "/config.json")
        try OutputFile.write(vocabulary, to: directory + "/vocab.txt")
        try OutputFile.write(ngrams, to: directory + "/ngram.txt")
        try SafeTensors.write(model.namedParameters.map { (name: WeightStore.referenceName($0.name), data: TensorData($0.tensor)) },
                              to: directory + "/model.safetensors")
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
    static func writeResumable(_ tuner: FineTuner, model: SavedModel, state: TrainingState, to directory: String) throws {
        try model.write(tuner.model, to: directory)
        let moments = tuner.optimizer.firstMoments.map { (name: "m." + $0.key, data: TensorData($0.value)) }
            + tuner.optimizer.secondMoments.map { (name: "v." + $0.key, data: TensorData($0.value)) }
        try SafeTensors.write(moments, to: directory + "/optimizer.safetensors")
        try OutputFile.write(try JSONOutput.encode(state), to: directory + "/trainer_state.json")
    }

    public static func readState(_ directory: String) throws -> TrainingState {
        try JSONDecoder().decode(TrainingState.self, from: TextFile.contents(of: directory + "/trainer_state.json"))
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

/// How a fine-tuning run writes its model: the source's files and config, with what the run
/// adds to the config (labels, the weighting and `max_seq_length` it trained with, dropout).
struct SavedModel {
    let baseConfig: [String: Any]
    let vocabulary: Data
    let ngrams: Data
    let weighting: NgramWeighting
    let maxSeqLength: Int

    init(source: String, weighting: NgramWeighting, maxSeqLength: Int) throws {
        baseConfig = (try JSONSerialization.jsonObject(with: TextFile.contents(of: source + "/config.json")) as? [String: Any]) ?? [:]
        vocabulary = try TextFile.contents(of: source + "/vocab.txt")
        ngrams = try TextFile.contents(of: source + "/ngram.txt")
        (self.weighting, self.maxSeqLength) = (weighting, maxSeqLength)
    }

    func write(_ model: TrainableModel, to directory: String) throws {
        var config = model.config
        config.ngramWeighting = weighting
        config.maxSeqLength = maxSeqLength
        try Checkpoints.writeModel(model, config: config, baseConfig: baseConfig, vocabulary: vocabulary, ngrams: ngrams, to: directory)
    }
}
