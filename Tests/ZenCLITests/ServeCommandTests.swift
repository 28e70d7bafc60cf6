import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `zen serve` as a process: what our acceptance run checks from outside.
@Suite struct ServeCommandTests {
    typealias CLI = FeaturesCommandTests
    static let classifier = CLI.fixtures + "/models/zen2-tiny-cls"

    /// A running `zen serve`, on the port it chose.
    final class Server: @unchecked Sendable {
        let process = Process()
        let port: Int
        private let stderr = Pipe()
        private let log = ErrorOutput()

        init(_ arguments: [String]) throws {
            process.executableURL = CLI.executable
            process.arguments = ["serve", "--port", "0"] + arguments
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            log.read(stderr.fileHandleForReading.fileDescriptor)
            let (announced, text) = log.wait { log in
                log.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                    .first { $0.hasPrefix("listening on http://") }.flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
            }
            guard let announced else { throw CLIError("zen serve ended before listening: \(text)") }
            port = announced
        }

        /// The server's standard error, read to its end on a thread of its own (so that a full
        /// pipe never blocks the server's logging) with reads that are retried when a signal
        /// interrupts them: FileHandle's reads trap on EINTR, which a child's exit can cause.
        final class ErrorOutput: @unchecked Sendable {
            private let condition = NSCondition()
            private var bytes: [UInt8] = []
            private var ended = false

            func read(_ descriptor: Int32) {
                Thread.detachNewThread { [self] in
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
                        if count < 0, errno == EINTR { continue }
                        condition.lock()
                        if count > 0 { bytes += buffer.prefix(count) } else { ended = true }
                        condition.broadcast()
                        condition.unlock()
                        if count <= 0 { return }
                    }
                }
            }

            /// Waits until `find` finds its value in the text so far, or the text ends; returns it and the text.
            func wait<Value>(for find: (String) -> Value?) -> (Value?, String) {
                condition.lock()
                defer { condition.unlock() }
                while true {
                    let text = String(decoding: bytes, as: UTF8.self)
                    if let value = find(text) { return (value, text) }
                    if ended { return (nil, text) }
                    condition.wait()
                }
            }
        }

        struct Reply: Sendable {
            var status: Int
            var data: Data
            var body: Any? { try? JSONSerialization.jsonObject(with: data) }
        }

        func request(_ path: String, json: Any? = nil, method: String? = nil, body: Data? = nil, timeout: TimeInterval = 60) async throws -> Reply {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: timeout)
            if let body = try body ?? json.map({ try JSONSerialization.data(withJSONObject: $0) }) {
                request.httpMethod = "POST"
                request.httpBody = body
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            if let method { request.httpMethod = method }
            let (data, response) = try await URLSession.shared.data(for: request)
            return Reply(status: (response as! HTTPURLResponse).statusCode, data: data)
        }

        /// Waits for the process to exit and returns its status.
        func exitStatus() -> Int32 {
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit { if process.isRunning { process.terminate() } }
    }

    struct CLIError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func reviews(_ count: Int) throws -> [String] {
        let path = URL(fileURLWithPath: CLI.fixtures).deletingLastPathComponent().appendingPathComponent("data/sentiment/dev.json").path
        return try CLI.jsonLines(path).prefix(count).map { $0["sentence"] as! String }
    }

    @Test func logitsEqualZenPredict() async throws {
        let texts = try Self.reviews(24)
        let predicted = try ModelCommandTests.run(["predict", "--model", Self.classifier, "--task", "classification", "--max-seq-length", "128"],
                                                  inputs: texts.map { ["text": $0] })
        let server = try Server(["--model", "cls=\(Self.classifier)"])
        let health = try await server.request("/healthz")
        #expect(health.status == 200)
        let response = try await server.request("/v1/classify", json: ["texts": texts])
        #expect(response.status == 200)
        let results = try #require((response.body as? [String: Any])?["results"] as? [[String: Any]])
        #expect(results.count == texts.count)
        for (result, line) in zip(results, predicted) {
            #expect(ModelCommandTests.maxDifference(result["logits"], line["logits"]) <= 1e-6)
            #expect(result["label"] as? Int == line["label"] as? Int)
            #expect(result["label"] as? Int != nil)
        }
        server.process.terminate()
        #expect(server.exitStatus() == 0)
    }

    /// A client that sends half a request and stops does not hold up the others: were it to,
    /// they would wait past their 60-second timeout and fail.
    @Test func aStalledClientDoesNotStallOthers() async throws {
        let server = try Server(["--model", "cls=\(Self.classifier)"])
        let stalled = try RawClient(port: server.port)
        stalled.send("POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"texts\": [\"")
        for _ in 0..<5 {
            let response = try await server.request("/v1/classify", json: ["texts": ["房间很干净"]])
            #expect(response.status == 200)
        }
    }

    /// The errors whose handling depends on the wire: a body past the limit, bytes that are not
    /// UTF-8, a wrong method, a path that does not exist; and clients that hang up mid-request.
    @Test func errorsOverTheWire() async throws {
        let server = try Server(["--model", "cls=\(Self.classifier)", "--max-body-bytes", "1000"])
        let large = try await server.request("/v1/classify", body: Data(#"{"texts": [""#.utf8) + Data(repeating: 0x61, count: 2_000_000) + Data(#""]}"#.utf8))
        #expect(large.status == 413)
        #expect(((large.body as? [String: Any])?["error"] as? [String: Any])?["code"] as? String == "body_too_large")
        let latin1 = try await server.request("/v1/classify", body: Data(#"{"texts": [""#.utf8) + Data([0xE9]) + Data(#""]}"#.utf8))
        #expect(latin1.status == 400)
        #expect(try await server.request("/v1/classify", method: "GET").status == 405)
        #expect(try await server.request("/v2/classify", json: ["texts": ["好"]]).status == 404)
        for cut in [20, 90] {
            let client = try RawClient(port: server.port)
            let request = "POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 30\r\n\r\n{\"texts\": [\"房间很干净\"]}"
            client.send(bytes: Array(request.utf8.prefix(cut)))
            client.close()
        }
        #expect(try await server.request("/v1/classify", json: ["texts": ["房间很干净"]]).status == 200)
        server.process.terminate()
        #expect(server.exitStatus() == 0)
    }

    /// SIGTERM while a request waits for its batch: it runs at once (not after its ten minutes
    /// of waiting for company) and is answered, then the server exits 0.
    @Test func sigtermFinishesInFlightRequestsAndExitsZero() async throws {
        let server = try Server(["--model", "cls=\(Self.classifier)", "--max-wait-ms", "600000"])
        let inFlight = Task { try await server.request("/v1/classify", json: ["texts": ["房间很干净", "服务太差了"]], timeout: 900) }
        defer { inFlight.cancel() }  // on failure, so that the server is not kept running
        try await waitUntil("the request is queued") {
            try await String(decoding: server.request("/metrics").data, as: UTF8.self).contains("zen_queue_depth 2")
        }
        let signalled = ContinuousClock.now
        server.process.terminate()
        let response = try await inFlight.value
        #expect(signalled.duration(to: .now) < .seconds(300))
        #expect(response.status == 200)
        #expect(((response.body as? [String: Any])?["results"] as? [Any])?.count == 2)
        #expect(server.exitStatus() == 0)
        #expect(server.process.terminationReason == .exit)
    }

    @Test func refusesBadModelArguments() throws {
        let malformed = try CLI.zen(["serve", "--model", Self.classifier])
        #expect(malformed.status != 0)
        #expect(malformed.stderr.contains("expected NAME=DIR"))
        let twice = try CLI.zen(["serve", "--model", "a=\(Self.classifier)", "--model", "a=\(Self.classifier)"])
        #expect(twice.stderr.contains("the name \"a\" is given twice"))
        let missing = try CLI.zen(["serve", "--model", "a=/nonexistent/model"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("model a (/nonexistent/model)"))
    }
}
