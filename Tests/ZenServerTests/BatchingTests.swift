import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import ZenModel
import ZenText
@testable import ZenServer

/// Concurrent requests share batches; a full queue refuses with 503; a failing request fails alone.
@Suite struct BatchingTests {
    @Test func concurrentRequestsRunAsOneBatch() async throws {
        let texts = Array(Fixtures.reviews.prefix(8))
        let expected = try texts.map { try Fixtures.classifier.classify([$0])[0].logits }
        // The eighth text fills the batch; were the requests not batched, they would wait four minutes.
        try await withServer(batching: .init(maxBatch: 8, maxWait: .seconds(240))) { client in
            let logits = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for (index, text) in texts.enumerated() {
                    group.addTask {
                        let response = try await client.post("/v1/classify", ["model": "cls", "texts": [text]])
                        let result = (response.json as? [String: Any])?["results"] as? [[String: Any]]
                        return (index, floats(result?.first?["logits"]))
                    }
                }
                return try await group.reduce(into: [Int: [Float]]()) { $0[$1.0] = $1.1 }
            }
            for index in texts.indices { #expect(maxDifference(logits[index]!, expected[index]) <= 1e-6) }
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("zen_batch_size_count 1"), "\(metrics)")
            #expect(metrics.contains("zen_batch_size_sum 8"))
        }
    }

    /// The second request fills the batch, which then runs at once instead of after `maxWait`
    /// (long enough that even a loaded test machine answers well before it).
    @Test func aFullBatchDoesNotWaitForTheDeadline() async throws {
        let texts = Array(Fixtures.reviews.prefix(4))
        try await withServer(batching: .init(maxBatch: 4, maxWait: .seconds(240))) { client in
            let start = ContinuousClock.now
            async let first = client.post("/v1/classify", ["model": "cls", "texts": Array(texts[..<2])])
            async let second = client.post("/v1/classify", ["model": "cls", "texts": Array(texts[2...])])
            #expect(try await [first.status, second.status] == [.ok, .ok])
            #expect(start.duration(to: .now) < .seconds(120))
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("zen_batch_size_count 1"))
        }
    }

    @Test func aFullQueueAnswers503WithRetryAfter() async throws {
        try await withServer(batching: .init(maxBatch: 3, maxWait: .seconds(240), queueLimit: 3)) { client in
            let waiting = Task { try await client.post("/v1/classify", ["model": "cls", "texts": ["好", "坏"]]) }
            try await waitUntil("the first request is queued") {
                try await String(decoding: client.send("/metrics", method: .get).body, as: UTF8.self).contains("zen_queue_depth 2")
            }
            let refused = try await client.post("/v1/classify", ["model": "cls", "texts": ["好", "坏"]])
            #expect(refused.status == .serviceUnavailable)
            #expect(errorCode(refused.json) == "overloaded")
            #expect(refused.headers[.retryAfter] == "1")
            // One more text fits the queue and fills the batch, which then runs.
            let fits = try await client.post("/v1/classify", ["model": "cls", "texts": ["好"]])
            #expect(fits.status == .ok)
            #expect(try await waiting.value.status == .ok)
        }
    }

    /// Graceful shutdown runs the queue at once: the request waiting for company is answered now,
    /// and one that comes later waits for none (each would wait four minutes otherwise).
    @Test func shutDownRunsTheQueueAtOnce() async throws {
        let served = try Fixtures.served(["cls"])[0]
        let metrics = ServerMetrics()
        let scheduler = BatchScheduler(limits: .init(maxBatch: 8, maxWait: .seconds(240)), metrics: metrics)
        let features = try served.featureBuilder.sequenceFeatures(text: "房间很干净")
        let start = ContinuousClock.now
        let waiting = Task { try await scheduler.encode([features], on: served) }
        try await waitUntil("the request is queued") { metrics.exposition.contains("zen_queue_depth 1") }
        await scheduler.shutDown()
        #expect(try await waiting.value.count == 1)
        #expect(try await scheduler.encode([features, features], on: served).count == 2)
        #expect(start.duration(to: .now) < .seconds(120))
    }

    /// Inputs the model rejects (an n-gram id past its table) fail their own request only.
    @Test func aFailingRequestFailsAlone() async throws {
        let served = try Fixtures.served(["cls"])[0]
        // Two texts fill the batch: both requests run in one encoder call.
        let scheduler = BatchScheduler(limits: .init(maxBatch: 2, maxWait: .seconds(240)), metrics: nil)
        let good = try served.featureBuilder.sequenceFeatures(text: "房间很干净")
        var bad = try served.featureBuilder.sequenceFeatures(text: "北京大学")
        try #require(!bad.ngrams.isEmpty)
        bad.ngrams[0].id = Int32(Fixtures.classifier.config.wordSize)
        async let first = scheduler.encode([good], on: served)
        async let second = Result { try await scheduler.encode([bad], on: served) }
        let (outputs, failure) = try await (first, second)
        #expect(outputs.count == 1)
        #expect(throws: ModelError.self) { try failure.get() }
        #expect(maxDifference(try #require(outputs[0].pooled), try #require(try Fixtures.classifier.encode(good).pooled)) == 0)
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
