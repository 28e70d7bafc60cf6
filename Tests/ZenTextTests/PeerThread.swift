import Foundation

/// The other end of a FIFO, on a thread of its own: opening a FIFO blocks until both ends are
/// open, and a task could wait behind tests that block every thread of the concurrency pool.
final class PeerThread<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: T?

    init(_ body: @escaping @Sendable () -> T) {
        Thread { [self] in
            result = body()
            done.signal()
        }.start()
    }

    @discardableResult
    func value() -> T {
        done.wait()
        return result!
    }
}
