import Foundation
import Testing

/// `zen finetune` stopped by Ctrl-C or SIGTERM, killed outright, or left with a checkpoint whose
/// files do not belong together: every resume ends with the uninterrupted run's model, byte for
/// byte, or is refused. The tests wait for `zen` with `async` sleeps: a thread of the test
/// runner's small pool blocked for the tens of seconds these runs take starved the server tests.
@Suite struct FineTuneResumeTests {
    typealias CLI = FeaturesCommandTests

    /// 24 examples in batches of 2 (12 steps an epoch, 72 in all), shuffled, with dropout: a
    /// resume must restore the data order, the dropout streams and the optimizer.
    static let flags = ["--model", FineTuneCommandTests.fixture + "/init", "--task", "classification",
                        "--train", FineTuneCommandTests.fixture + "/train.json", "--max-seq-length", "48", "--batch-size", "2",
                        "--learning-rate", "1e-3", "--epochs", "6", "--dropout", "0.1", "--seed", "5"]

    /// The uninterrupted run, in `directory/whole`.
    static func wholeRun(in directory: URL) async throws -> String {
        let whole = try BackgroundRun(output: directory.appendingPathComponent("whole").path)
        let stderr = try await whole.finish()
        try #require(whole.process.terminationStatus == 0, "\(stderr)")
        #expect(try CLI.jsonLines(whole.output + "/train_log.jsonl").count == 72)
        return whole.output
    }

    /// `zen COMMAND --output output` with `extra` (by default `zen finetune` with `flags`), in the
    /// background; its standard error goes to `output.stderr`, beside the output directory.
    struct BackgroundRun {
        let process = Process()
        let output: String
        var stderrPath: String { output + ".stderr" }

        /// With `fileSizeLimit` (KiB), a write past it fails as on a full disk (`file too large`).
        init(output: String, _ extra: [String] = [], command: [String] = ["finetune"] + FineTuneResumeTests.flags, fileSizeLimit: Int? = nil) throws {
            self.output = output
            let arguments = [command[0], "--output", output] + command.dropFirst() + extra
            if let fileSizeLimit {
                // Ignored, SIGXFSZ stays ignored in zen, whose write then fails with EFBIG.
                process.executableURL = URL(fileURLWithPath: "/bin/bash")
                process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(fileSizeLimit); exec \"$0\" \"$@\"", CLI.executable.path] + arguments
            } else {
                process.executableURL = CLI.executable
                process.arguments = arguments
            }
            FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }

        /// Waits for the end; returns standard error.
        func finish() async throws -> String {
            while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
            return try String(contentsOfFile: stderrPath, encoding: .utf8)
        }

        var loggedSteps: Int { Self.loggedSteps(in: output) }

        static func loggedSteps(in output: String) -> Int {
            ((try? String(contentsOfFile: output + "/train_log.jsonl", encoding: .utf8))?.split(separator: "\n").count) ?? 0
        }

        /// Sends `signal` once `ready` holds, and waits for the end; returns standard error. The
        /// watch runs on a thread of its own: a sleep on the runner's pool, busy with other
        /// tests, can wake long after the moment, even after the run's end.
        func send(_ signal: Int32, when ready: @escaping @Sendable () -> Bool) async throws -> String {
            let pid = process.processIdentifier
            let sent = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                Thread {
                    // kill(pid, 0) fails once the run has ended (and Process has reaped it).
                    while kill(pid, 0) == 0, !ready() { usleep(1_000) }
                    continuation.resume(returning: kill(pid, signal) == 0)
                }.start()
            }
            try #require(sent, "the run finished before the signal")
            return try await finish()
        }
    }

    /// A run in `directory/name` stopped by SIGTERM once `steps` steps are logged: its output
    /// directory and the step of the one checkpoint it saved.
    static func stopped(in directory: URL, _ name: String, after steps: Int) async throws -> (output: String, step: Int) {
        let run = try BackgroundRun(output: directory.appendingPathComponent(name).path)
        _ = try await run.send(SIGTERM) { [output = run.output] in BackgroundRun.loggedSteps(in: output) >= steps }
        try #require(try entries(run.output) == ["checkpoint-\(run.loggedSteps)"])
        return (run.output, run.loggedSteps)
    }

    static func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("checkpoint") }.sorted()
    }

    /// Resumes the run in `output` with `extra` flags, which must go on from `step` and end with
    /// the model, config and log of the uninterrupted run in `whole`, byte for byte, and no
    /// checkpoint left.
    static func resume(_ output: String, from step: Int, as whole: String, _ extra: [String] = []) async throws {
        let resumed = try BackgroundRun(output: output, ["--resume"] + extra)
        let stderr = try await resumed.finish()
        try #require(resumed.process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("resuming at step \(step) of"), "\(stderr)")
        for file in ["model.safetensors", "config.json", "train_log.jsonl"] {
            let same = try Data(contentsOf: URL(fileURLWithPath: output + "/" + file)) == Data(contentsOf: URL(fileURLWithPath: whole + "/" + file))
            #expect(same, "\(file) differs from the uninterrupted run's")
        }
        let left = try entries(output)
        #expect(left.isEmpty, "checkpoints left after the run: \(left)")
    }

    /// Ctrl-C or SIGTERM saves a checkpoint of the step done and exits 128 + the signal; `--resume`
    /// then ends with the uninterrupted run's model and log.
    @Test(arguments: [SIGINT, SIGTERM])
    func stopsOnASignalAndResumesByteForByte(signal: Int32) async throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = try await Self.wholeRun(in: directory)
        let run = try BackgroundRun(output: directory.appendingPathComponent("stopped").path)
        let stderr = try await run.send(signal) { [output = run.output] in BackgroundRun.loggedSteps(in: output) >= 10 }
        try #require(run.process.terminationStatus == 128 + signal, "status \(run.process.terminationStatus): \(stderr)")
        let step = run.loggedSteps
        let checkpoint = run.output + "/checkpoint-\(step)"
        #expect(stderr.contains("stopped by \(signal == SIGTERM ? "SIGTERM" : "Ctrl-C") after step \(step); saved \(checkpoint) (continue with --resume)"),
                "\(stderr)")
        #expect(try Self.entries(run.output) == ["checkpoint-\(step)"])

        try await Self.resume(run.output, from: step, as: whole)
    }

    /// `--save-every 5` saves in the middle of epochs; after SIGKILL (nothing saved on the way
    /// out) `--resume` continues from the newest of them and ends byte for byte as the
    /// uninterrupted run, which saved only every 10 minutes.
    @Test func savesMidEpochAndResumesAfterAKill() async throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = try await Self.wholeRun(in: directory)
        let run = try BackgroundRun(output: directory.appendingPathComponent("killed").path, ["--save-every", "5"])
        _ = try await run.send(SIGKILL) { [output = run.output] in FileManager.default.fileExists(atPath: output + "/checkpoint-5") }
        let left = try Self.entries(run.output)
        let newest = try #require(left.compactMap { Int($0.dropFirst("checkpoint-".count)) }.max(), "no checkpoint left by the killed run: \(left)")
        try #require(newest % 5 == 0 && newest % 12 != 0, "the newest checkpoint, of step \(newest), is not one of the middle of an epoch")

        try await Self.resume(run.output, from: newest, as: whole, ["--save-every", "5"])
    }

    /// A checkpoint whose model is not the one saved with its state is refused, naming the
    /// directory, the file and the previous complete checkpoint; nothing is removed. Doing what
    /// the message says (removing the newest) resumes from the previous one, exactly, and the
    /// leftover of a save that was cut off does not get in the way.
    @Test func refusesAMixedCheckpointAndResumesFromThePreviousOne() async throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = try await Self.wholeRun(in: directory)
        let (early, first) = try await Self.stopped(in: directory, "early", after: 3)
        let (late, second) = try await Self.stopped(in: directory, "late", after: first + 5)
        let files = FileManager.default
        let previous = late + "/checkpoint-\(first)", newest = late + "/checkpoint-\(second)"
        try files.moveItem(atPath: early + "/checkpoint-\(first)", toPath: previous)
        try files.removeItem(atPath: newest + "/model.safetensors")
        try files.copyItem(atPath: whole + "/model.safetensors", toPath: newest + "/model.safetensors")
        let leftover = late + "/.checkpoint-\(second + 1).k3x9.partial"
        try files.createDirectory(atPath: leftover, withIntermediateDirectories: false)
        try Data("half a model".utf8).write(to: URL(fileURLWithPath: leftover + "/model.safetensors"))

        let refused = try BackgroundRun(output: late, ["--resume"])
        let stderr = try await refused.finish()
        #expect(refused.process.terminationStatus != 0)
        #expect(stderr.contains("cannot resume from \(newest): model.safetensors is not the file saved with trainer_state.json "
            + "(step \(second)): its contents differ. Its parts do not belong together"), "\(stderr)")
        #expect(stderr.contains("Remove \(newest) and run again with --resume to continue from the previous complete checkpoint, \(previous)"),
                "\(stderr)")
        #expect(Set(try Self.entries(late)) == [".checkpoint-\(second + 1).k3x9.partial", "checkpoint-\(first)", "checkpoint-\(second)"])
        #expect(try CLI.jsonLines(late + "/train_log.jsonl").count == second)

        try files.removeItem(atPath: newest)
        try await Self.resume(late, from: first, as: whole)
    }

    /// A save that fails (a file past the file-size limit, as on a full disk) stops the run with
    /// an error naming the checkpoint and the file; its temporary directory goes, the previous
    /// checkpoint stays whole, and resuming from it ends byte for byte as the uninterrupted run.
    @Test func aFailedSaveKeepsThePreviousCheckpoint() async throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = try await Self.wholeRun(in: directory)
        let (output, step) = try await Self.stopped(in: directory, "full", after: 3)

        // 5,000 KiB: the model (3.4 MB) fits, the optimizer's moments (6.8 MB) do not.
        let limited = try BackgroundRun(output: output, ["--resume", "--save-every", "1"], fileSizeLimit: 5000)
        let stderr = try await limited.finish()
        #expect(limited.process.terminationStatus != 0)
        let failed = output + "/checkpoint-\(step + 1)"
        #expect(stderr.contains("cannot save the checkpoint \(failed): cannot write \(output)/.checkpoint-\(step + 1)."), "\(stderr)")
        #expect(stderr.contains("/optimizer.safetensors: file too large. The checkpoints saved before it are as they were: "
            + "once the cause is fixed, continue with --resume"), "\(stderr)")
        #expect(try Self.entries(output) == ["checkpoint-\(step)"])

        try await Self.resume(output, from: step, as: whole)
    }
}
