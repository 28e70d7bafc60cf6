import ArgumentParser
import Foundation
import ZenText
import ZenTraining

/// What every training command (`zen finetune`, `zen pretrain`) takes about its run: checkpoints,
/// resuming, the output directory and the threads.
struct TrainingRunOptions: ParsableArguments {
    @Option(help: "Save a resumable checkpoint every this many steps (200), or this often (30s, 10m, 2h).")
    var saveEvery: FineTuningRun.CheckpointInterval = .standard

    @Flag(help: "Continue the run from its newest checkpoint in --output (checkpoint-<step>).")
    var resume = false

    @Flag(help: "Write into a non-empty --output.")
    var overwrite = false

    @Option(help: "Compute threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be positive") }
    }

    /// Runs `run` with Ctrl-C and SIGTERM caught between steps, and prints its summary. A stopped
    /// run exits with the shell's code for the signal (128 + it) once its checkpoint is saved;
    /// a run that fails says why.
    static func run(_ progress: ProgressReporter, _ run: (_ shouldStop: () -> Bool) throws -> some Encodable) throws {
        Interrupt.install()
        do {
            let summary = try run { Interrupt.received != nil }
            progress.finish()
            print(try JSONOutput.string(summary))
        } catch FineTuningError.stopped(let step, let checkpoint) {
            let signal = Interrupt.received ?? SIGINT
            progress.log("stopped by \(signal == SIGTERM ? "SIGTERM" : "Ctrl-C") after step \(step); saved \(checkpoint) (continue with --resume)")
            throw ExitCode(128 + signal)
        } catch let error as FineTuningError {
            progress.finish()
            throw CLIError("\(error)")
        }
    }
}

extension FineTuningRun.CheckpointInterval: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
