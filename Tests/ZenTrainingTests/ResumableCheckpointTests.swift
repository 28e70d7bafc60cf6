import Foundation
import Testing
import ZenModel
import ZenText
import ZenTraining

/// Resumable checkpoints: saved whole, one at a time, and refused on resume when their parts do
/// not belong together.
@Suite struct ResumableCheckpointTests {
    static let fixture = FineTuningParityTests.directory

    /// A run of the training fixture, 6 steps an epoch, into `output`, saving every `saveEvery`.
    static func run(into output: String, saveEvery: FineTuningRun.CheckpointInterval) throws -> FineTuningRun {
        let model = try ZenModel(directory: fixture + "/init")
        let path = fixture + "/train.json"
        let rows = try Datasets.readClassification(path)
        let labels = ClassLabels.firstAppearance(task: .classification, rows.compactMap(\.label))
        var options = FineTuningOptions()
        (options.batchSize, options.learningRate, options.epochs, options.dropout, options.seed) = (4, 1e-3, 2, 0.1, 7)
        let tuner = FineTuner(model: try TrainableModel(model, task: .classification, classNames: labels.classNames, seed: 7),
                              examples: try TrainingData.classification(rows, path: path, builder: try model.featureBuilder(maxSeqLength: 48),
                                                                        labels: labels),
                              options: options)
        _ = try FineTuningRun.prepare((output, .classification, .frequency, 48), resume: false, overwrite: false)
        let settings = FineTuningRun.Settings(source: fixture + "/init", output: output, task: .classification, labels: labels,
                                              weighting: .frequency, maxSeqLength: 48, saveEvery: saveEvery)
        return try FineTuningRun(settings: settings, tuner: tuner, resumingFrom: nil, evaluate: nil)
    }

    /// Runs `run` until `steps` steps are done, and returns the checkpoint directories present
    /// in `output` before each step (after the previous step's save).
    static func stop(_ run: inout FineTuningRun, after steps: Int, output: String) throws -> [[String]] {
        var seen: [[String]] = [], done = 0
        #expect(throws: FineTuningError.stopped(step: steps, checkpoint: output + "/checkpoint-\(steps)")) {
            _ = try run.run(shouldStop: {
                seen.append(try! Self.entries(output).filter { $0.contains("checkpoint") })
                return done >= steps
            }, observe: { if case .step = $0 { done += 1 } })
        }
        return seen
    }

    static func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zen-checkpoints-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    struct Schedule: Sendable, CustomTestStringConvertible {
        var interval: FineTuningRun.CheckpointInterval
        var steps: Int
        /// The checkpoints present before each step, and before the stop.
        var present: [[String]]
        var testDescription: String { "--save-every \(interval)" }
    }

    /// Every `saveEvery` steps (and at the epoch's end, step 6) a new checkpoint replaces the
    /// last one; a stop saves one of its step unless the newest is of that step already.
    @Test(arguments: [
        Schedule(interval: .steps(2), steps: 7, present: [[], [], ["checkpoint-2"], ["checkpoint-2"], ["checkpoint-4"], ["checkpoint-4"],
                                                          ["checkpoint-6"], ["checkpoint-6"]]),
        Schedule(interval: .seconds(0), steps: 3, present: [[], ["checkpoint-1"], ["checkpoint-2"], ["checkpoint-3"]]),
        Schedule(interval: .standard, steps: 7, present: [[], [], [], [], [], [], ["checkpoint-6"], ["checkpoint-6"]]),
    ])
    func savesEveryIntervalAndEveryEpoch(schedule: Schedule) throws {
        let output = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: output) }
        var run = try Self.run(into: output, saveEvery: schedule.interval)
        #expect(try Self.stop(&run, after: schedule.steps, output: output) == schedule.present)
        #expect(try Self.entries(output).filter { $0.contains("checkpoint") } == ["checkpoint-\(schedule.steps)"])
        let saved = try Checkpoints.latestResumable(in: output)
        #expect(saved.directory == output + "/checkpoint-\(schedule.steps)" && saved.state.step == schedule.steps)
        #expect(Set(saved.state.files.keys) == ["config.json", "vocab.txt", "ngram.txt", "model.safetensors", "optimizer.safetensors"])
    }

    @Test func parsesIntervals() {
        #expect(FineTuningRun.CheckpointInterval("200") == .steps(200))
        #expect(FineTuningRun.CheckpointInterval("30s") == .seconds(30))
        #expect(FineTuningRun.CheckpointInterval("1.5m") == .seconds(90))
        #expect(FineTuningRun.CheckpointInterval("2h") == .seconds(7200))
        for text in ["200", "30s", "10m", "2h", "90s"] { #expect(FineTuningRun.CheckpointInterval(text)?.description == text) }
        #expect(FineTuningRun.CheckpointInterval.standard.description == "10m")
        #expect(FineTuningRun.CheckpointInterval.seconds(0).description == "0s")
        for bad in ["0", "-3", "0m", "m", "10x", "", "nanm", "infh"] { #expect(FineTuningRun.CheckpointInterval(bad) == nil, "\(bad)") }
    }

    /// A checkpoint whose parts come from different saves, or are cut short or missing, is
    /// refused with the directory, the part, and the previous complete checkpoint when one is kept.
    @Test func refusesACheckpointWhosePartsDoNotBelongTogether() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (early, late) = (root + "/early", root + "/late")
        var run = try Self.run(into: early, saveEvery: .steps(1))
        _ = try Self.stop(&run, after: 2, output: early)
        run = try Self.run(into: late, saveEvery: .steps(1))
        _ = try Self.stop(&run, after: 3, output: late)
        let files = FileManager.default
        try files.copyItem(atPath: early + "/checkpoint-2", toPath: late + "/checkpoint-2")
        #expect(try Checkpoints.latestResumable(in: late).state.step == 3)

        func refusal(_ reason: String, previous: String?) -> FineTuningError {
            .checkpointNotWhole(directory: late + "/checkpoint-3", reason: reason, previous: previous)
        }
        let newest = late + "/checkpoint-3"
        let pristine = root + "/pristine"
        try files.copyItem(atPath: newest, toPath: pristine)
        func restore() throws {
            try files.removeItem(atPath: newest)
            try files.copyItem(atPath: pristine, toPath: newest)
        }

        // The model of step 2 beside the optimizer and state of step 3: same size, other contents.
        try files.removeItem(atPath: newest + "/model.safetensors")
        try files.copyItem(atPath: early + "/checkpoint-2/model.safetensors", toPath: newest + "/model.safetensors")
        #expect(throws: refusal("model.safetensors is not the file saved with trainer_state.json (step 3): its contents differ",
                                previous: late + "/checkpoint-2")) { try Checkpoints.latestResumable(in: late) }
        let message = "\(refusal("x", previous: late + "/checkpoint-2"))"
        #expect(message.contains("cannot resume from \(newest): x.") && message.contains("Remove \(newest) and run again with --resume"))

        // Without the previous checkpoint, the advice is to start over.
        try files.removeItem(atPath: late + "/checkpoint-2")
        #expect(throws: refusal("model.safetensors is not the file saved with trainer_state.json (step 3): its contents differ",
                                previous: nil)) { try Checkpoints.latestResumable(in: late) }
        #expect("\(refusal("x", previous: nil))".contains("run again with --overwrite instead of --resume"))

        try restore()
        let optimizer = newest + "/optimizer.safetensors"
        let size = try files.attributesOfItem(atPath: optimizer)[.size] as! Int
        try Data(try Data(contentsOf: URL(fileURLWithPath: optimizer)).prefix(size - 4)).write(to: URL(fileURLWithPath: optimizer))
        #expect(throws: refusal("optimizer.safetensors has \(size - 4) bytes, but the one saved with trainer_state.json (step 3) had \(size)",
                                previous: nil)) { try Checkpoints.latestResumable(in: late) }

        try restore()
        try files.removeItem(atPath: newest + "/trainer_state.json")
        #expect(throws: refusal("it has no trainer_state.json (its save did not finish)", previous: nil)) { try Checkpoints.latestResumable(in: late) }

        try restore()
        try files.moveItem(atPath: newest, toPath: late + "/checkpoint-4")
        #expect(throws: FineTuningError.checkpointNotWhole(directory: late + "/checkpoint-4",
                                                           reason: "its trainer_state.json is the state of step 3, not of step 4", previous: nil)) {
            try Checkpoints.latestResumable(in: late)
        }
    }

    /// What a save cut off by a kill leaves (a `.checkpoint-*.partial` directory, even of a
    /// later step) is never resumed from, and resuming removes it.
    @Test func ignoresAndRemovesWhatAKilledSaveLeft() throws {
        let output = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: output) }
        var run = try Self.run(into: output, saveEvery: .steps(1))
        _ = try Self.stop(&run, after: 2, output: output)
        let leftover = output + "/.checkpoint-3.x1y2.partial"
        try FileManager.default.copyItem(atPath: output + "/checkpoint-2", toPath: leftover)
        try FileManager.default.removeItem(atPath: leftover + "/trainer_state.json")
        let resumed = try FineTuningRun.prepare((output, .classification, .frequency, 48), resume: true, overwrite: false)
        #expect(resumed?.directory == output + "/checkpoint-2" && resumed?.state.step == 2)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(throws: FineTuningError.resumeMismatch(path: output + "/checkpoint-2", task: "classification", weighting: "frequency", maxSeqLength: 48)) {
            try FineTuningRun.prepare((output, .classification, .frequency, 64), resume: true, overwrite: false)
        }
    }

    /// The digest is CRC-32 (zlib's values of "" and "abc"), and tells apart files that
    /// differ in any one byte, and files of other lengths.
    @Test func digestIsCRC32AndSeesEveryByte() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func digest(_ bytes: [UInt8]) throws -> FileDigest {
            let path = directory + "/file"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return try FileDigest(of: path)
        }
        let (empty, abc) = (try digest([]), try digest(Array("abc".utf8)))
        #expect(empty.bytes == 0 && empty.digest == "00000000")
        #expect(abc.bytes == 3 && abc.digest == "352441c2")
        let base = (0..<77).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let original = try digest(base)
        #expect(original.bytes == 77 && original.digest.count == 8)
        var seen: Set<String> = [original.digest]
        for index in base.indices {
            var changed = base
            changed[index] ^= 0x80
            seen.insert(try digest(changed).digest)
        }
        for count in 0..<base.count { seen.insert(try digest(Array(base.prefix(count))).digest) }
        #expect(seen.count == 1 + 77 + 77)
    }
}
