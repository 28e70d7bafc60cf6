import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import ZenModel

/// `zen serve`: the HTTP API over loaded models. Models are shared by every request; their
/// encoder work goes through one `BatchScheduler`.
public struct InferenceServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var requests: RequestLimits
        public var batching: BatchScheduler.Limits
        public var connections: ConnectionLimits

        public init(host: String = "127.0.0.1", port: Int = 8080, requests: RequestLimits = .init(), batching: BatchScheduler.Limits = .init(),
                    connections: ConnectionLimits = .init()) {
            (self.host, self.port, self.requests, self.batching, self.connections) = (host, port, requests, batching, connections)
        }
    }

    public let configuration: Configuration
    let api: InferenceAPI
    let metrics = ServerMetrics()

    public init(models: [ServedModel], configuration: Configuration) {
        self.configuration = configuration
        api = InferenceAPI(models: models, scheduler: BatchScheduler(limits: configuration.batching, metrics: metrics),
                           limits: configuration.requests)
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    /// The API: what `openapi.yaml` documents, path by path.
    var routes: [(path: String, method: HTTPRequest.Method, handler: Handler)] {
        let (api, metrics) = (api, metrics)
        return [
            ("/healthz", .get, { _, _ in try jsonResponse(["status": "ok"]) }),
            ("/metrics", .get, { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: metrics.exposition)))
            }),
            ("/openapi.yaml", .get, { _, _ in
                Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: openAPIDocument)))
            }),
            ("/v1/models", .get, api.listModels),
            ("/v1/classify", .post, api.classify),
            ("/v1/ner", .post, api.ner),
            ("/v1/embed", .post, api.embed),
            ("/v1/fill-mask", .post, api.fillMask),
        ]
    }

    /// Every route, behind the metrics and the JSON errors. A known path asked with another
    /// method answers 405 with `Allow`; anything else 404.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: APIErrorMiddleware())
        let api = api
        for route in routes {
            let handler = route.handler
            router.on(RouterPath(route.path), method: route.method, use: route.method != .post ? handler : { request, context in
                try api.checkHead(of: request)
                return try await handler(request, context)
            })
            let refused = APIError(.methodNotAllowed, "method_not_allowed", "\(route.path) accepts \(route.method.rawValue) only",
                                   headers: [.allow: route.method.rawValue])
            for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete, .options] where method != route.method {
                router.on(RouterPath(route.path), method: method) { _, _ -> Response in throw refused }
            }
        }
        return router
    }

    /// The router behind HTTP/1.1 connections held to `configuration.connections`.
    func application(logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let limits = configuration.connections
        return Application(
            router: router(),
            server: HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, limits: limits) },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "zen"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then answers the requests in flight and returns.
    /// `onListening` gets the bound port (the one chosen when the configured port is 0). An
    /// address it cannot listen on is a `ListenError` that says why.
    public func run(logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let scheduler = api.scheduler
        // Services shut down last to first: the scheduler hears of the signal before the server
        // starts waiting for its requests, and runs what is queued without waiting for company.
        let services: [any Service] = [application(logger: logger, onListening: onListening),
                                       OnGracefulShutdown { await scheduler.shutDown() }]
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError where ListenError.Reason(errno: error.errnoCode) != nil {
            throw ListenError(host: configuration.host, port: configuration.port, reason: ListenError.Reason(errno: error.errnoCode)!)
        }
    }
}

/// Runs `action` when graceful shutdown begins.
private struct OnGracefulShutdown: Service {
    let action: @Sendable () async -> Void

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the server ended otherwise
        }
        await action()
    }
}

/// Why the server could not listen, and what to do about it.
public struct ListenError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case portInUse, permissionDenied, addressNotAvailable

        init?(errno code: Int32) {
            switch code {
            case EADDRINUSE: self = .portInUse
            case EACCES, EPERM: self = .permissionDenied
            case EADDRNOTAVAIL: self = .addressNotAvailable
            default: return nil
            }
        }
    }

    public var host: String
    public var port: Int
    public var reason: Reason

    public var description: String {
        let why = switch reason {
        case .portInUse: "the port is in use; stop the other server or choose another --port"
        case .permissionDenied: "permission denied (ports below 1024 need privileges); choose another --port"
        case .addressNotAvailable: "the address is not one of this machine's; choose another --host"
        }
        return "cannot listen on \(host):\(port): \(why)"
    }
}
