import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Hummingbird's HTTP/1.1 connections, each held to the `ConnectionLimits` by a `ConnectionGuard`.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let limits: ConnectionLimits
    let open: OpenConnections

    init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits) {
        http1 = HTTP1Channel(responder: responder)
        self.limits = limits
        open = OpenConnections(limit: limits.maxConnections)
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connection = ConnectionGuard(limits: limits, open: open)
        do {
            try channel.pipeline.syncOperations.addHandler(ArrivalHandler(connection), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger).assumeIsolated().flatMapThrowing { value in
            // Between the HTTP codec and Hummingbird's connection state handler, whose handling
            // of shutdown it replaces.
            let state = try channel.pipeline.syncOperations.context(handlerType: HTTPConnectionStateHandler.self)
            try channel.pipeline.syncOperations.addHandler(connection, position: .before(state.handler))
            return value
        }.nonisolated()
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// First in a connection's pipeline: tells its guard that bytes arrived (a request head is only
/// seen once whole) and drops whatever arrives once the connection is closing, so that the
/// client can finish sending and read its answer.
final class ArrivalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: ConnectionGuard

    init(_ connection: ConnectionGuard) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if connection.bytesArrived() { context.fireChannelRead(data) }
    }
}

/// Holds one connection to the limits, between the HTTP codec and Hummingbird:
///
/// - A connection past `maxConnections` is answered 503 and closed.
/// - Each request must arrive whole within `readTimeout` of the connection's start or of the
///   previous answer (the clock stops while the server works on a request): past it, a
///   connection with part of a request gets 408, an idle one nothing, and both are closed.
/// - Malformed HTTP between requests is answered 400 (one inside a body reaches the handler
///   reading it, and `APIErrorMiddleware` answers).
/// - A connection closes after an answer that says `Connection: close`, or when Hummingbird
///   half-closes it (after a request that said so): the output closes, and what the client
///   still sends is read and dropped for `linger`, then the connection closes whatever the
///   client does. Hummingbird alone waits for the client to close, which may never happen.
/// - On shutdown, a connection finishes the request it has, answering it with
///   `Connection: close`; an idle one waits `shutdownGrace` for a request already on its way
///   (Hummingbird's own rule closes it at once, resetting such a request).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let open: OpenConnections
    private var started = false
    private var admitted = false

    /// Requests whose head and whose end have arrived, and answers whose end has left.
    private var heads = 0, ends = 0, answers = 0
    /// An answer's head has left and its end not yet.
    private var answering = false
    /// Requests answered and received in full: each one restarts the read deadline.
    private var exchanges = 0
    private var exchangeStart = NIODeadline.now()
    /// Bytes arrived since the last exchange: a request is on its way, maybe not yet a whole head.
    private var bytesSinceExchange = false
    private var deadline: Scheduled<Void>?
    private var closeAfterAnswer = false
    private var closing = false
    private var linger: Scheduled<Void>?
    /// When shutdown began, plus the grace.
    private var shutdownDeadline: NIODeadline?

    init(limits: ConnectionLimits, open: OpenConnections) {
        (self.limits, self.open) = (limits, open)
    }

    /// The server works on a request received in full, or writes an answer: the client owes nothing.
    private var working: Bool { ends > answers || answering }

    // MARK: Connection events

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard open.admit() else {
            refuse(context)
            return
        }
        admitted = true
        exchangeStart = .now()
        updateDeadline(context)
    }

    private func stop() {
        deadline?.cancel()
        linger?.cancel()
        (deadline, linger) = (nil, nil)
        if admitted { open.release() }
        admitted = false
    }

    /// From `ArrivalHandler`: whether to pass the bytes on.
    func bytesArrived() -> Bool {
        bytesSinceExchange = true
        return !closing
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head: heads += 1
        case .body: break
        case .end:
            ends += 1
            exchangeProgressed(context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The guard has answered (or refused) in the handler's stead; nothing else may follow.
        guard !closing else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            answering = true
            if shutdownDeadline != nil { head.headerFields[.connection] = "close" }
            if head.headerFields[.connection]?.lowercased().contains("close") == true { closeAfterAnswer = true }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            answering = false
            answers += 1
            context.write(data, promise: promise)
            if closeAfterAnswer {
                context.flush()
                closeOutput(context)
            } else {
                exchangeProgressed(context)
            }
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // Hummingbird half-closes after a request that said `Connection: close`, then waits for the client.
        if mode == .output { beginClosing(context) }
        context.close(mode: mode, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Not passed on: Hummingbird's rule would close an idle connection at once.
        shutdownDeadline = .now() + TimeAmount(ConnectionLimits.shutdownGrace)
        deadline?.cancel()
        deadline = nil
        updateDeadline(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !closing else { return }  // in what follows the last answer, dropped anyway
        guard heads == answers else {
            // A request without its answer: the handler reading its body gets the error and answers it.
            context.fireErrorCaught(error)
            return
        }
        if heads > ends {
            closeOutput(context)  // in the rest of a body already answered
        } else {
            answer(APIError(parseError), context)
        }
    }

    // MARK: The read deadline

    /// A request arrived in full or an answer left: when both have, the next request's time starts.
    private func exchangeProgressed(_ context: ChannelHandlerContext) {
        let completed = min(ends, answers)
        if completed > exchanges {
            exchanges = completed
            exchangeStart = .now()
            bytesSinceExchange = false
            deadline?.cancel()
            deadline = nil
        }
        updateDeadline(context)
    }

    private func updateDeadline(_ context: ChannelHandlerContext) {
        guard !working, !closing else {
            deadline?.cancel()
            deadline = nil
            return
        }
        guard deadline == nil else { return }
        let due = min(exchangeStart + TimeAmount(limits.readTimeout), shutdownDeadline ?? .distantFuture)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { self.deadlinePassed(context) }
    }

    private func deadlinePassed(_ context: ChannelHandlerContext) {
        deadline = nil
        guard !working, !closing else { return }
        if heads > answers || (heads == ends && bytesSinceExchange) {
            answer(timedOut, context)  // a request begun, not received in full
        } else {
            closeOutput(context)  // idle, or the rest of a body already answered
        }
    }

    private var timedOut: APIError {
        if shutdownDeadline != nil {
            return APIError(.requestTimeout, "request_timeout", "the server is shutting down and the request did not arrive in full in time; send it again")
        }
        let seconds = Double(limits.readTimeout.components.seconds) + Double(limits.readTimeout.components.attoseconds) / 1e18
        let shown = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        return APIError(.requestTimeout, "request_timeout",
                        "the request was not received in full within \(shown) seconds (--read-timeout \(shown)); send the whole request at once")
    }

    // MARK: Answering and closing

    /// Answers `error` in the handlers' stead, then closes the connection.
    private func answer(_ error: APIError, _ context: ChannelHandlerContext) {
        write(error, context)
        closeOutput(context)
    }

    /// Past `maxConnections`: 503, and the descriptor is released as soon as it is written.
    private func refuse(_ context: ChannelHandlerContext) {
        closing = true
        let error = APIError(.serviceUnavailable, "too_many_connections",
                             "the server has its limit of \(open.limit) connections open (--max-connections \(open.limit)); retry later",
                             headers: [.retryAfter: "1"])
        write(error, context).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    @discardableResult
    private func write(_ error: APIError, _ context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let body = ByteBuffer(bytes: error.json)
        var headers = error.responseHeaders
        headers[.connection] = "close"
        headers[.contentLength] = String(body.readableBytes)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: error.status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        return context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// Closes the output once what is written has left, and the connection after `linger`.
    private func closeOutput(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        beginClosing(context)
        context.close(mode: .output, promise: nil)
    }

    private func beginClosing(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        deadline?.cancel()
        deadline = nil
        linger = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(ConnectionLimits.linger)) {
            context.close(promise: nil)
        }
    }
}
