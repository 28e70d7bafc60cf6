import Foundation
import Synchronization

/// Progress of a long run on standard error: a bar redrawn in place on a terminal, plain log
/// lines (every `logEvery` steps) otherwise.
struct ProgressReporter {
    let total: Int
    let logEvery: Int
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var startStep: Int
    private var examples = 0

    init(total: Int, startStep: Int, logEvery: Int = 50) {
        (self.total, self.startStep, self.logEvery) = (total, startStep, logEvery)
    }

    /// Seconds since the reporter was made.
    var elapsed: Double { Date().timeIntervalSince(start) }

    /// After a training step; `perplexity` (of the masked tokens, in pre-training) is shown when given.
    mutating func update(step: Int, epoch: Int, loss: Double, learningRate: Double, examples batch: Int, perplexity: Double? = nil) {
        examples += batch
        let rate = Double(examples) / max(elapsed, 1e-9)
        let numbers = String(format: "loss %.4f  ", loss) + (perplexity.map { String(format: "ppl %.1f  ", $0) } ?? "")
            + String(format: "lr %.2e  %.1f ex/s  ETA %@", learningRate, rate, remaining(at: step))
        if isTerminal {
            draw("epoch \(epoch + 1) ", done: step, numbers)
        } else if step % logEvery == 0 || step == total {
            log("step \(step)/\(total)  epoch \(epoch + 1)  \(numbers)")
        }
    }

    /// Ends the bar's line, so that what follows starts on a line of its own.
    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// `done` of `total` items (lines, texts) finished: the bar on a terminal, nothing otherwise,
    /// where a summary at the end says it all.
    func advance(to done: Int, unit: String) {
        guard isTerminal else { return }
        draw("", done: done, String(format: "%.1f %@/s  ETA %@", Double(done - startStep) / max(elapsed, 1e-9), unit, remaining(at: done)))
    }

    /// `done` lines finished of an input whose line count is unknown: the bar shows `fraction`
    /// of it read (when known: not for a pipe), the numbers count lines.
    func advance(lines done: Int, fraction: Double?) {
        guard isTerminal else { return }
        let eta = fraction.map { $0 > 0 ? Self.duration(elapsed * (1 - $0) / $0) : "?" } ?? "?"
        write(bar(fraction ?? 0), String(format: "%d lines  %.1f lines/s  ETA %@", done, Double(done) / max(elapsed, 1e-9), eta))
    }

    /// A line of its own, below the bar.
    func log(_ message: String) {
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[2K" : "") + message + "\n").utf8))
    }

    private func draw(_ label: String, done: Int, _ numbers: String) {
        write(label + bar(total == 0 ? 1 : Double(done) / Double(total)), "\(done)/\(total)  \(numbers)")
    }

    private func bar(_ fraction: Double) -> String {
        let width = 24, filled = max(0, min(width, Int(fraction * Double(width))))
        return "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "]"
    }

    private func write(_ bar: String, _ numbers: String) {
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(bar) \(numbers)".utf8))
    }

    private func remaining(at done: Int) -> String {
        Self.duration(Double(total - done) * elapsed / Double(max(1, done - startStep)))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Ctrl-C (SIGINT) and SIGTERM (what `kill`, systemd and container runtimes send to stop a
/// process) as a flag that a loop polls between steps, so that it can save first.
enum Interrupt {
    private static let signals = [SIGINT, SIGTERM]
    /// The first signal received, 0 before any.
    private static let first = Atomic<Int32>(0)
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { _ = first.compareExchange(expected: 0, desired: number, ordering: .relaxed) }
            source.resume()
            return source
        }
    }

    /// The signal that asked to stop, if one did.
    static var received: Int32? {
        let number = first.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }
}
