import Foundation
import ZenModel
import ZenTensor
import ZenText

/// Writes model directories, and the checkpoints a run resumes from.
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

/// Where a run stands, saved in each of its checkpoints as `trainer_state.json`: the step, what
/// the run needs to continue exactly, and the size and digest of each other file of the checkpoint.
public protocol RunState: Codable, Sendable {
    var step: Int { get }
    /// The other files of the checkpoint, by name, as they were saved with this state.
    var files: [String: FileDigest] { get set }
}

/// A resumable checkpoint on disk: `OUTPUT/checkpoint-<step>`, holding the model as
/// `Checkpoints.writeModel` writes it, the optimizer's moments (`optimizer.safetensors`, `m.` and
/// `v.` before each name) and `trainer_state.json`, which records the size and digest of each of
/// the other files, so that a resume can tell that they were saved together.
public struct ResumableCheckpoint<State: RunState>: Sendable {
    public let directory: String
    public let state: State
}

extension Checkpoints {
    /// The files of a resumable checkpoint besides `trainer_state.json`, every one of which its
    /// state must record.
    static let resumableParts = ["config.json", "vocab.txt", "ngram.txt", "model.safetensors", "optimizer.safetensors"]
    static let checkpointPrefix = "checkpoint-"

    /// Saves a resumable checkpoint as a whole: the model (`writeModel` writes it into the
    /// directory it is given), the optimizer's moments and `state`. Every file is written (each
    /// synced to disk) into a temporary directory beside the checkpoints, which one rename then
    /// makes `checkpoint-<step>`. Only after that are the earlier checkpoints removed, so that a
    /// save that is killed or fails (a full disk) leaves the previous checkpoint as it was.
    static func writeResumable<State: RunState>(model writeModel: (String) throws -> Void, optimizer: any Optimizer, state: State,
                                                in output: String) throws -> ResumableCheckpoint<State> {
        let name = checkpointPrefix + String(state.step)
        let directory = output + "/" + name
        let partial = try makeScratchDirectory(for: name, in: output)
        var renamed = false
        defer { if !renamed { try? FileManager.default.removeItem(atPath: partial) } }
        var state = state
        do {
            try writeModel(partial)
            let moments = optimizer.firstMoments.map { (name: "m." + $0.key, data: TensorData($0.value)) }
                + optimizer.secondMoments.map { (name: "v." + $0.key, data: TensorData($0.value)) }
            try SafeTensors.write(moments, to: partial + "/optimizer.safetensors")
            state.files = try Dictionary(uniqueKeysWithValues: resumableParts.map { ($0, try FileDigest(of: partial + "/" + $0)) })
            // Written last: a directory with a readable state has every part.
            try OutputFile.write(try JSONOutput.encode(state), to: partial + "/trainer_state.json")
        } catch {
            // The file system's error names the temporary file; the message names the checkpoint too.
            throw FineTuningError.checkpointNotSaved(path: directory, reason: "\(error)")
        }

        // Only a checkpoint made by hand can be in the way: a run saves each step once.
        if FileManager.default.fileExists(atPath: directory) { discard(directory, in: output) }
        guard rename(partial, directory) == 0 else {
            throw FineTuningError.checkpointNotSaved(path: directory, reason: String(cString: strerror(errno)).lowercased())
        }
        renamed = true
        OutputFile.syncDirectory(output)
        for earlier in (try? checkpoints(in: output)) ?? [] where earlier.step != state.step { discard(earlier.directory, in: output) }
        return ResumableCheckpoint(directory: directory, state: state)
    }

    /// The newest checkpoint in `output`, checked whole: its state readable and every part the
    /// file the state recorded. A checkpoint whose parts disagree is refused, never resumed.
    public static func latestResumable<State: RunState>(in output: String, as state: State.Type = TrainingState.self) throws -> ResumableCheckpoint<State> {
        let found = try checkpoints(in: output)
        guard let newest = found.last else { throw FineTuningError.nothingToResume(path: output) }
        do {
            return try verified(newest, as: state)
        } catch let damage as CheckpointDamage {
            throw FineTuningError.checkpointNotWhole(directory: newest.directory, reason: damage.reason,
                                                     previous: found.dropLast().last?.directory)
        }
    }

    /// Checks a run's output directory before anything is read: a new or empty one (or, with
    /// `overwrite`, any directory, whose old logs and checkpoints are removed), or with `resume`
    /// one whose newest checkpoint is whole. Returns the checkpoint to resume from. What saves
    /// cut off by a kill left behind (`.checkpoint-*.partial` directories) is removed.
    public static func prepareOutput<State: RunState>(_ output: String, resume: Bool, overwrite: Bool,
                                                      as state: State.Type) throws -> ResumableCheckpoint<State>? {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = files.fileExists(atPath: output, isDirectory: &isDirectory)
        if resume {
            guard exists, isDirectory.boolValue else { throw FineTuningError.nothingToResume(path: output) }
            let checkpoint = try latestResumable(in: output, as: state)
            removeScratch(in: output)
            return checkpoint
        }
        if exists {
            guard isDirectory.boolValue else { throw FineTuningError.outputIsFile(path: output) }
            if !(try files.contentsOfDirectory(atPath: output)).isEmpty, !overwrite { throw FineTuningError.outputNotEmpty(path: output) }
        }
        try files.createDirectory(atPath: output, withIntermediateDirectories: true)
        for stale in ["train_log.jsonl", "eval_log.jsonl"] { try? files.removeItem(atPath: output + "/" + stale) }
        removeAll(in: output)
        return nil
    }

    /// Removes every checkpoint of `output`, and what killed saves left: once a run has ended,
    /// or before a new run overwrites the directory.
    static func removeAll(in output: String) {
        removeScratch(in: output)
        for checkpoint in (try? checkpoints(in: output)) ?? [] { discard(checkpoint.directory, in: output) }
    }

    /// Removes the temporary directories of saves (and removals) that were cut off. Their names
    /// (`.checkpoint-<step>.<random>.partial`) are never read as checkpoints.
    static func removeScratch(in output: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        for entry in entries where entry.hasPrefix("." + checkpointPrefix) && entry.hasSuffix(".partial") {
            try? FileManager.default.removeItem(atPath: output + "/" + entry)
        }
    }

    /// The optimizer saved in `checkpoint`.
    public static func readOptimizer<O: Optimizer>(_ checkpoint: ResumableCheckpoint<some RunState>, as optimizer: O.Type,
                                                   weightDecay: Double) throws -> O {
        var first: [String: Tensor] = [:], second: [String: Tensor] = [:]
        for (name, data) in try SafeTensors.read(checkpoint.directory + "/optimizer.safetensors") {
            let tensor = Tensor(shape: data.shape, scalars: data.floats())
            if name.hasPrefix("m.") { first[String(name.dropFirst(2))] = tensor } else { second[String(name.dropFirst(2))] = tensor }
        }
        return O(weightDecay: weightDecay, steps: checkpoint.state.step, firstMoments: first, secondMoments: second)
    }

    /// The `checkpoint-<step>` directories of `output`, oldest first.
    private static func checkpoints(in output: String) throws -> [(step: Int, directory: String)] {
        try FileManager.default.contentsOfDirectory(atPath: output).compactMap { entry in
            guard entry.hasPrefix(checkpointPrefix), let step = Int(entry.dropFirst(checkpointPrefix.count)),
                  step >= 0, String(step) == entry.dropFirst(checkpointPrefix.count) else { return nil }
            return (step, output + "/" + entry)
        }.sorted { $0.step < $1.step }
    }

    private struct CheckpointDamage: Error { var reason: String }

    private static func verified<State: RunState>(_ checkpoint: (step: Int, directory: String), as: State.Type) throws -> ResumableCheckpoint<State> {
        let statePath = checkpoint.directory + "/trainer_state.json"
        guard FileManager.default.fileExists(atPath: statePath) else {
            throw CheckpointDamage(reason: "it has no trainer_state.json (its save did not finish)")
        }
        let state: State
        do {
            state = try JSONInput.decode(State.self, from: TextFile.contents(of: statePath))
        } catch {
            throw CheckpointDamage(reason: "its trainer_state.json cannot be read (\(error))")
        }
        guard state.step == checkpoint.step else {
            throw CheckpointDamage(reason: "its trainer_state.json is the state of step \(state.step), not of step \(checkpoint.step)")
        }
        for part in resumableParts {
            guard let recorded = state.files[part] else {
                throw CheckpointDamage(reason: "its trainer_state.json records no \(part)")
            }
            let path = checkpoint.directory + "/" + part
            guard FileManager.default.fileExists(atPath: path) else { throw CheckpointDamage(reason: "\(part) is missing") }
            let found = try FileDigest(of: path)
            if found.bytes != recorded.bytes {
                throw CheckpointDamage(reason: "\(part) has \(found.bytes) bytes, but the one saved with trainer_state.json (step \(state.step)) had \(recorded.bytes)")
            }
            if found.digest != recorded.digest {
                throw CheckpointDamage(reason: "\(part) is not the file saved with trainer_state.json (step \(state.step)): its contents differ")
            }
        }
        return ResumableCheckpoint(directory: checkpoint.directory, state: state)
    }

    /// A new, empty scratch directory in `output` for the checkpoint `name`.
    private static func makeScratchDirectory(for name: String, in output: String) throws -> String {
        while true {
            let path = output + "/." + name + "." + String(UInt32.random(in: .min ... .max), radix: 36) + ".partial"
            if mkdir(path, 0o777) == 0 { return path }
            guard errno == EEXIST else {
                throw FineTuningError.checkpointNotSaved(path: output + "/" + name, reason: "cannot create \(path): " + String(cString: strerror(errno)).lowercased())
            }
        }
    }

    /// Removes a checkpoint directory as a whole: renamed to a scratch name first (one step that
    /// either happens or not), so that a removal cut off halfway leaves no checkpoint missing
    /// parts. A checkpoint that cannot be removed stays, and does no harm: a resume takes the newest.
    private static func discard(_ directory: String, in output: String) {
        guard let scratch = try? makeScratchDirectory(for: (directory as NSString).lastPathComponent, in: output) else { return }
        if rename(directory, scratch) != 0 { rmdir(scratch) } else { try? FileManager.default.removeItem(atPath: scratch) }
    }
}

/// How a run writes its model: the source's vocabulary, n-grams and config, the trained model's
/// config written over it.
struct SavedModel {
    let baseConfig: [String: Any]
    let vocabulary: Data
    let ngrams: Data

    /// The source's files; `dropping` keys of its config that do not describe the trained model.
    init(source: String, dropping keys: [String] = []) throws {
        // The source loaded, so its config.json is a JSON object.
        var config = try JSONInput.parse(TextFile.contents(of: source + "/config.json", kind: .regularFile)).foundationObject as? [String: Any] ?? [:]
        for key in keys { config[key] = nil }
        baseConfig = config
        vocabulary = try TextFile.contents(of: source + "/vocab.txt")
        ngrams = try TextFile.contents(of: source + "/ngram.txt")
    }

    func write(_ model: some ParameterWalkable, config: ZenConfig, to directory: String) throws {
        try Checkpoints.writeModel(model, config: config, baseConfig: baseConfig, vocabulary: vocabulary, ngrams: ngrams, to: directory)
    }
}
