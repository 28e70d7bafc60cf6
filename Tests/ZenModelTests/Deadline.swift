import Foundation

/// Runs `body` on a thread of its own and waits for it at most `seconds`: nil when it has not
/// returned by then, so that a hang fails the test instead of hanging it (the thread is left
/// behind; the test process ends it).
func withDeadline<T>(seconds: Double, _ body: @escaping () -> T) -> T? {
    let run = DeadlineRun(body)
    Thread { run.start() }.start()
    guard run.done.wait(timeout: .now() + seconds) == .success else { return nil }
    return run.value
}

private final class DeadlineRun<T>: @unchecked Sendable {
    private let body: () -> T
    private(set) var value: T?
    let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () -> T) { self.body = body }

    func start() {
        value = body()
        done.signal()
    }
}
