import CZenKernels
import Foundation
import NIOConcurrencyHelpers

/// What one connection may take of the server: time to send its request, and a descriptor.
/// `ConnectionGuard` holds every connection to them.
public struct ConnectionLimits: Sendable {
    /// A connection must deliver each whole request, head and body, within this time of opening or
    /// of the answer to its previous request: one that has sent part of a request by then gets
    /// 408 and is closed; one that has sent nothing (an idle keep-alive connection) is closed.
    /// A deadline, not an idle timer, because a slow client trickles a byte at a time.
    public var readTimeout: Duration
    /// Most connections open at once; one more is answered 503 and closed at once, so that a
    /// flood of connections cannot take the descriptors the open ones need.
    public var maxConnections: Int

    public init(readTimeout: Duration = .seconds(30), maxConnections: Int = ConnectionLimits.defaultMaxConnections) {
        (self.readTimeout, self.maxConnections) = (readTimeout, maxConnections)
    }

    /// How long a closing connection still reads (and drops) what its client sends after the
    /// last answer. Closing at once with unread bytes would send a reset, which can destroy that
    /// answer before the client reads it; waiting for the client to close could take forever.
    static let linger: Duration = .seconds(2)

    /// After SIGTERM, how long a connection with no request in progress waits for one that may
    /// already be on its way (a request sent just before the signal is answered, not reset).
    static let shutdownGrace: Duration = .seconds(2)

    /// Descriptors the server keeps for itself besides connections: the standard streams, the
    /// listener, each event loop's few, the model files.
    public static var reservedDescriptors: Int { 64 + 4 * ProcessInfo.processInfo.activeProcessorCount }

    /// The soft limit on open descriptors (`ulimit -n`).
    public static var descriptorLimit: Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let status = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        let status = getrlimit(RLIMIT_NOFILE, &limit)
        #endif
        // RLIM_INFINITY is the largest value.
        guard status == 0, limit.rlim_cur < rlim_t(Int.max) else { return Int.max }
        return Int(limit.rlim_cur)
    }

    /// The most connections the descriptor limit leaves room for.
    public static var maxConnectionsAllowed: Int {
        let limit = descriptorLimit
        return limit == Int.max ? Int.max : limit - reservedDescriptors
    }

    /// 4096, or what the descriptor limit leaves room for when that is less.
    public static var defaultMaxConnections: Int { max(1, min(4096, maxConnectionsAllowed)) }
}

/// The connections open now, counted against `maxConnections` across every event loop.
///
/// Once many connections have closed, the memory their buffers held is handed back to the
/// system: a second after the `releaseAfterClosing`th close, then every `releaseInterval` for
/// as long as connections go on closing, so that the end of a flood is released too. The
/// process keeps freed memory on purpose, for the encoder (`zen_retain_freed_memory`); without
/// this a flood of connections or of refused bodies would leave the server that much larger.
final class OpenConnections: Sendable {
    let limit: Int
    private struct State {
        var open = 0
        var closedSinceRelease = 0
        var releasing = false
    }
    private let state = NIOLockedValueBox(State())

    static let releaseAfterClosing = 64
    static let releaseInterval: DispatchTimeInterval = .seconds(10)

    init(limit: Int) { self.limit = limit }

    /// Counts one more connection, unless the limit is reached.
    func admit() -> Bool {
        state.withLockedValue { state in
            guard state.open < limit else { return false }
            state.open += 1
            return true
        }
    }

    func release() {
        let startReleasing = state.withLockedValue { state in
            state.open -= 1
            state.closedSinceRelease += 1
            guard !state.releasing, state.closedSinceRelease >= Self.releaseAfterClosing else { return false }
            state.releasing = true
            return true
        }
        // A second for the closed connections' buffers to be freed first.
        if startReleasing { releaseMemory(after: .seconds(1)) }
    }

    private func releaseMemory(after delay: DispatchTimeInterval) {
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + delay) { [self] in
            let closed = state.withLockedValue { state in
                defer { state.closedSinceRelease = 0 }
                state.releasing = state.closedSinceRelease > 0
                return state.closedSinceRelease
            }
            guard closed > 0 else { return }
            zen_release_freed_memory()
            releaseMemory(after: Self.releaseInterval)
        }
    }
}
