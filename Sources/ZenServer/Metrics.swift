import Hummingbird
import Prometheus

/// The server's Prometheus metrics, in a registry of its own (no global bootstrap, so that
/// several servers, e.g. in tests, keep separate counts).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Texts waiting for a batch.
    let queueDepth: Gauge
    /// Texts per encoder batch.
    let batchSize: ValueHistogram

    private static let latencyBuckets: [Duration] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
        .map { .microseconds(Int64($0 * 1000)) }

    private static var requests: MetricNameDescriptor {
        .init(namespace: "zen", metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered, by path, method and status.")
    }
    private static var latency: MetricNameDescriptor {
        .init(namespace: "zen", metricName: "http_request_duration", unitName: "seconds", helpText: "Time from request to response, by path.")
    }

    init() {
        queueDepth = registry.makeGauge(descriptor: .init(namespace: "zen", metricName: "queue", unitName: "depth",
                                                          helpText: "Texts waiting for a batch."), labels: [])
        batchSize = registry.makeValueHistogram(descriptor: .init(namespace: "zen", metricName: "batch", unitName: "size",
                                                                  helpText: "Texts per encoder batch."),
                                                labels: [], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
    }

    func recordRequest(path: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("path", path), ("method", method), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.latency, labels: [("path", path)], buckets: Self.latencyBuckets).record(duration)
    }

    /// The Prometheus text exposition format.
    var exposition: String { registry.emitToString() }
}

/// Counts and times every response, errors included (it sits outside `APIErrorMiddleware`).
/// Paths are the routes' ("NotFound" for any other), so that unknown URLs cannot grow the label set.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.recordRequest(path: context.endpointPath ?? "NotFound",
                              method: request.method.rawValue, status: response.status.code, duration: .now - start)
        return response
    }
}
