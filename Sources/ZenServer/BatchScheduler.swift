import Dispatch
import ZenModel
import ZenText

/// Collects the encoder work of concurrent requests into batches.
///
/// A request hands over the features of its texts and waits. The first request in an empty
/// queue starts a drain: it waits up to `maxWait` for company (less once `maxBatch` texts of its
/// model are queued), then runs the queued requests of that model, oldest first and up to
/// `maxBatch` texts, as one encoder call. While a batch runs, new requests queue up; the next
/// batch starts as soon as the previous one ends, so under load batches fill by themselves.
///
/// All encoder work runs on one dedicated thread, never on Swift's cooperative pool: a batch
/// keeps every core busy through the tensor kernels' own threads, and the event loops stay free
/// to accept, read and write while it runs.
public actor BatchScheduler {
    public struct Limits: Sendable {
        /// Most texts in one encoder call.
        public var maxBatch: Int
        /// How long the oldest queued request waits for others to join its batch.
        public var maxWait: Duration
        /// Most texts waiting (not yet running); a request that would pass it is refused.
        public var queueLimit: Int

        public init(maxBatch: Int = 32, maxWait: Duration = .milliseconds(5), queueLimit: Int = 1024) {
            (self.maxBatch, self.maxWait, self.queueLimit) = (maxBatch, maxWait, queueLimit)
        }
    }

    private struct Job {
        let model: ServedModel
        let features: [InputFeatures]
        let arrived: ContinuousClock.Instant
        let continuation: CheckedContinuation<[EncoderOutput], any Error>
    }

    public let limits: Limits
    private let metrics: ServerMetrics?
    private let engine = DispatchQueue(label: "zen.inference", qos: .userInitiated)
    private var queue: [Job] = []
    private var queuedTexts = 0
    private var draining = false
    /// Set by `shutDown`: batches no longer wait for company.
    private var shuttingDown = false
    /// The drain's wait for company, cut short when a batch is full.
    private var wait: Task<Void, Never>?

    init(limits: Limits, metrics: ServerMetrics?) {
        self.limits = limits
        self.metrics = metrics
    }

    /// Runs the encoder on `features` as part of a batch, outputs in the same order. Throws
    /// 503 `overloaded` at once when the queue is full, and the encoder's error when this
    /// request's inputs fail (other requests of the same batch are not affected).
    public func encode(_ features: [InputFeatures], on model: ServedModel) async throws -> [EncoderOutput] {
        guard !features.isEmpty else { return [] }
        guard queuedTexts + features.count <= limits.queueLimit else {
            throw APIError(.serviceUnavailable, "overloaded",
                           "the server's queue is full (\(queuedTexts) texts waiting, --queue-limit \(limits.queueLimit)); retry later",
                           headers: [.retryAfter: "1"])
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.append(Job(model: model, features: features, arrived: .now, continuation: continuation))
            queuedTexts += features.count
            metrics?.queueDepth.set(Double(queuedTexts))
            if !draining {
                draining = true
                Task { await drain() }
            } else if queue.first?.model === model, queuedTexts(of: model) >= limits.maxBatch {
                wait?.cancel()
            }
        }
    }

    /// On graceful shutdown: what is queued runs now, and later requests (the server still
    /// answers those that arrive on open connections) run as soon as they are queued.
    public func shutDown() {
        shuttingDown = true
        wait?.cancel()
    }

    private func queuedTexts(of model: ServedModel) -> Int {
        queue.reduce(0) { $0 + ($1.model === model ? $1.features.count : 0) }
    }

    private func drain() async {
        while let first = queue.first {
            if !shuttingDown, queuedTexts(of: first.model) < limits.maxBatch {
                let deadline = first.arrived + limits.maxWait
                let wait = Task { _ = try? await Task.sleep(until: deadline, clock: .continuous) }
                self.wait = wait
                await wait.value
                self.wait = nil
            }
            let batch = takeBatch(of: first.model)
            let results = await run(batch, on: first.model)
            for (job, result) in zip(batch, results) { job.continuation.resume(with: result) }
        }
        draining = false
    }

    /// The oldest jobs of `model` up to `maxBatch` texts (always at least one job, however large).
    private func takeBatch(of model: ServedModel) -> [Job] {
        var batch: [Job] = []
        var texts = 0
        queue.removeAll { job in
            guard job.model === model, batch.isEmpty || texts + job.features.count <= limits.maxBatch else { return false }
            batch.append(job)
            texts += job.features.count
            return true
        }
        queuedTexts -= texts
        metrics?.queueDepth.set(Double(queuedTexts))
        metrics?.batchSize.record(Double(texts))
        return batch
    }

    /// Encodes the batch's texts together, sorted by length and `maxBatch` at a time. When that
    /// fails, each job runs alone, so that a failure is reported to its own request only.
    private func run(_ batch: [Job], on model: ServedModel) async -> [Result<[EncoderOutput], any Error>] {
        let maxBatch = limits.maxBatch
        return await withCheckedContinuation { continuation in
            engine.async {
                let inputs = batch.flatMap(\.features)
                let order = inputs.indices.sorted { inputs[$0].inputIds.count < inputs[$1].inputIds.count }
                do {
                    var outputs = [EncoderOutput?](repeating: nil, count: inputs.count)
                    for start in stride(from: 0, to: order.count, by: maxBatch) {
                        let chunk = Array(order[start..<min(order.count, start + maxBatch)])
                        for (index, output) in zip(chunk, try model.model.encode(chunk.map { inputs[$0] })) { outputs[index] = output }
                    }
                    var offset = 0
                    continuation.resume(returning: batch.map { job in
                        defer { offset += job.features.count }
                        return .success(outputs[offset..<offset + job.features.count].map { $0! })
                    })
                } catch {
                    continuation.resume(returning: batch.map { job in Result { try model.model.encode(job.features) } })
                }
            }
        }
    }
}
