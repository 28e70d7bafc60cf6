import Foundation
import Testing

/// `zen serve`'s connections, over raw sockets: clients that send too slowly, too much, too
/// many connections or bytes that are not HTTP, and requests on their way at shutdown. The
/// server's open descriptors are counted in /proc.
@Suite struct ServeConnectionTests {
    typealias Server = ServeCommandTests.Server
    static let classifier = ServeCommandTests.classifier
    static let body = #"{"texts": ["房间很干净"]}"#
    static let request = "POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"

    /// A body refused with 413 on a `Connection: close` request ends the connection, whether the
    /// client sent all of it, part of it or none (Content-Length says enough), and whether or not
    /// the client ever closes its side: the server's descriptors go back to what they were.
    @Test func aRefusedBodyReleasesItsConnection() async throws {
        let server = try Server(["--model", "cls=\(Self.classifier)", "--max-body-bytes", "1000"])
        let before = try await Self.settledDescriptors(of: server)
        let declared = "POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 8000000\r\nConnection: close\r\n\r\n"
        let chunked = "POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + String(repeating: "400\r\n" + String(repeating: "a", count: 1024) + "\r\n", count: 3)
        let starts = [declared, declared + String(repeating: "a", count: 65536), chunked]
        var clients: [RawClient] = []
        for index in 0..<12 {
            let client = try RawClient(port: server.port)
            client.send(starts[index % starts.count])
            clients.append(client)
        }
        for client in clients {
            let reply = await client.readToEnd(timeout: .seconds(20))
            #expect(reply.status == 413, "\(reply)")
            #expect(reply.errorCode == "body_too_large")
            #expect(reply.end != .timeout, "the server kept the connection open after its 413")
        }
        // The clients keep their sockets open; the server must not wait for them.
        try await Self.waitForDescriptors(of: server, toReturnTo: before)
        withExtendedLifetime(clients) {}
    }

    /// A request must arrive whole within --read-timeout of the connection's start or of the
    /// previous answer: a partial head or body gets 408, a client trickling a byte at a time gets
    /// no more time for it, an idle connection is closed without an answer. The time the server
    /// spends on a request (here 1.5 s waiting for its batch) does not count.
    @Test func slowRequestsGet408AndIdleConnectionsClose() async throws {
        let server = try Server(["--model", "cls=\(Self.classifier)", "--read-timeout", "1", "--max-wait-ms", "1500"])
        let before = try await Self.settledDescriptors(of: server)
        let partialHead = try RawClient(port: server.port)
        partialHead.send("POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nContent-Ty")
        let partialBody = try RawClient(port: server.port)
        partialBody.send(String(Self.request.dropLast(5)))
        let silent = try RawClient(port: server.port)
        let start = ContinuousClock.now
        for client in [partialHead, partialBody] {
            let reply = await client.readToEnd(timeout: .seconds(20))
            #expect(reply.status == 408, "\(reply)")
            #expect(reply.errorCode == "request_timeout")
            #expect(reply.text.contains("--read-timeout 1"))
            #expect(reply.end == .closed)
        }
        #expect(start.duration(to: .now) >= .milliseconds(900))
        let nothing = await silent.readToEnd(timeout: .seconds(20))
        #expect(nothing.bytes.isEmpty && nothing.end == .closed, "\(nothing)")

        let trickling = try RawClient(port: server.port)
        let trickleStart = ContinuousClock.now
        let trickled = await trickling.sendSlowly(Self.request, byteEvery: .milliseconds(100))
        let trickle = await trickling.readToEnd(timeout: .seconds(20))
        #expect(trickle.status == 408, "\(trickle)")
        #expect(trickleStart.duration(to: .now) < .seconds(8))
        #expect(trickled < Self.request.utf8.count)

        let keptAlive = try RawClient(port: server.port)
        keptAlive.send(Self.request)
        let answered = try #require(await keptAlive.readResponse(timeout: .seconds(60)))
        #expect(answered.status == 200, "\(answered)")
        let idle = await keptAlive.readToEnd(timeout: .seconds(20))
        #expect(idle.bytes.isEmpty && idle.end == .closed, "\(idle)")
        try await Self.waitForDescriptors(of: server, toReturnTo: before)
    }

    /// Past --max-connections a connection is answered 503 and closed at once; the connections
    /// already open are served as before, and a freed place is taken again.
    @Test func connectionsPastTheLimitGet503() async throws {
        // A read timeout longer than a loaded test machine may take between two steps.
        let server = try Server(["--model", "cls=\(Self.classifier)", "--max-connections", "3", "--read-timeout", "600"])
        let open = try (0..<3).map { _ in try RawClient(port: server.port) }
        for client in open {
            client.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(await client.readResponse(timeout: .seconds(60))?.status == 200)
        }
        let refused = try await RawClient(port: server.port).readToEnd(timeout: .seconds(20))
        #expect(refused.status == 503, "\(refused)")
        #expect(refused.errorCode == "too_many_connections")
        #expect(refused.text.contains("--max-connections 3") && refused.text.contains("Retry-After: 1"))
        #expect(refused.end == .closed)
        for client in open {
            client.send(Self.request)
            #expect(await client.readResponse(timeout: .seconds(60))?.status == 200)
        }
        open[0].close()
        try await waitUntil("a connection is admitted after one closed") {
            let client = try RawClient(port: server.port)
            client.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            return await client.readResponse(timeout: .seconds(60))?.status == 200
        }
    }

    /// Bytes that are not HTTP are a 400 naming the problem (a malformed or overflowing chunk
    /// size, a Transfer-Encoding other than chunked, a bad request line), never a 500; the
    /// connection then closes.
    @Test(arguments: [
        "POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        "POST /v1/classify HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n\(body)",
        "GARBAGE\r\n\r\n",
    ])
    func malformedHTTPIs400(_ request: String) async throws {
        let server = try Server(["--model", "cls=\(Self.classifier)"])
        let client = try RawClient(port: server.port)
        client.send(request)
        let reply = await client.readToEnd(timeout: .seconds(20))
        #expect(reply.status == 400, "\(reply)")
        #expect(reply.errorCode == "invalid_http")
        #expect(reply.end == .closed)
    }

    /// SIGTERM answers what is on its way: a request written just before the signal, and
    /// requests written on open keep-alive connections just after it, each with
    /// `Connection: close`; then the server exits 0.
    @Test func sigtermAnswersRequestsOnOpenConnections() async throws {
        // A read timeout longer than a loaded test machine may take between two steps.
        let server = try Server(["--model", "cls=\(Self.classifier)", "--read-timeout", "600"])
        let clients = try (0..<6).map { _ in try RawClient(port: server.port) }
        for client in clients {
            client.send(Self.request)
            #expect(await client.readResponse(timeout: .seconds(60))?.status == 200)
        }
        clients[0].send(Self.request)
        server.process.terminate()
        // On a thread of its own: a loaded machine may not resume a task within the server's grace.
        await onOwnThread {
            usleep(300_000)
            for client in clients.dropFirst() { client.send(Self.request) }
        }
        for client in clients {
            let reply = await client.readToEnd(timeout: .seconds(60))
            #expect(reply.status == 200, "\(reply)")
            #expect(reply.text.lowercased().contains("connection: close"))
            #expect(reply.end == .closed)
        }
        #expect(server.exitStatus() == 0)
    }

    @Test func refusesBadConnectionLimits() throws {
        let zero = try ServeCommandTests.CLI.zen(["serve", "--model", "a=\(Self.classifier)", "--read-timeout", "0"])
        #expect(zero.status != 0)
        #expect(zero.stderr.contains("--read-timeout must be 0.001 to 86400 seconds"))
        let none = try ServeCommandTests.CLI.zen(["serve", "--model", "a=\(Self.classifier)", "--max-connections", "0"])
        #expect(none.stderr.contains("--max-connections must be at least 1"))
        let many = try ServeCommandTests.CLI.zen(["serve", "--model", "a=\(Self.classifier)", "--max-connections", "1000000000"])
        #expect(many.status != 0)
        #expect(many.stderr.contains("raise ulimit -n"), "\(many.stderr)")
    }

    // MARK: Descriptors

    static func descriptors(of server: Server) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.process.processIdentifier)/fd").count) ?? -1
    }

    /// The server's descriptors once a first request has come and gone and nothing changes.
    static func settledDescriptors(of server: Server) async throws -> Int {
        let client = try RawClient(port: server.port)
        client.send(request)
        _ = await client.readResponse(timeout: .seconds(60))
        client.close()
        var (last, stableSince) = (descriptors(of: server), ContinuousClock.now)
        try await waitUntil("the server's descriptors settle") {
            let now = descriptors(of: server)
            if now != last { (last, stableSince) = (now, .now) }
            return stableSince.duration(to: .now) > .milliseconds(500)
        }
        return last
    }

    static func waitForDescriptors(of server: Server, toReturnTo count: Int) async throws {
        try await waitUntil("the server's descriptors return to \(count) (now \(descriptors(of: server)))", within: .seconds(20)) {
            descriptors(of: server) <= count
        }
    }
}

/// Polls `condition` until it holds; past `limit`, fails the test naming `what` instead of waiting forever.
func waitUntil(_ what: @autoclosure () -> String, within limit: Duration = .seconds(300), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("gave up waiting after \(limit): \(what())")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Runs `work` on a thread of its own: blocking socket calls and timing that must not wait for
/// one of the few threads that run every test's tasks.
func onOwnThread<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}

/// A TCP client on raw sockets, to send what HTTP clients will not: part of a request, bytes that
/// are not HTTP, a request and then silence. Its waits block a thread of their own.
final class RawClient: @unchecked Sendable {
    private var socket: Int32

    init(port: Int) throws {
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Foundation.close(socket)
            throw ServeCommandTests.CLIError("cannot connect to port \(port)")
        }
    }

    deinit { close() }

    func close() {
        if socket >= 0 { Foundation.close(socket) }
        socket = -1
    }

    func send(_ text: String) { send(bytes: Array(text.utf8)) }

    /// Sends what it can; a connection the server closed takes nothing (and raises no SIGPIPE).
    func send(bytes: [UInt8]) {
        var bytes = bytes[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Foundation.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// Sends `text` a byte every `interval` until the server answers; returns the bytes sent.
    func sendSlowly(_ text: String, byteEvery interval: Duration) async -> Int {
        await onOwnThread {
            var sent = 0
            for byte in text.utf8 where !self.readable(within: interval) {
                self.send(bytes: [byte])
                sent += 1
            }
            return sent
        }
    }

    /// Whether bytes (or the end) can be read within `timeout`.
    private func readable(within timeout: Duration) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let milliseconds = max(0, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return poll(&descriptor, 1, Int32(milliseconds)) > 0
    }

    enum End: Equatable, Sendable { case closed, timeout }

    /// What the server sent and how it ended: `closed` (end of stream or reset) or `timeout`.
    struct Reply: CustomStringConvertible, Sendable {
        var bytes: [UInt8]
        var end: End
        var text: String { String(decoding: bytes, as: UTF8.self) }
        var status: Int? { text.hasPrefix("HTTP/1.1 ") ? Int(text.dropFirst(9).prefix(3)) : nil }
        var body: Any? {
            guard let range = text.range(of: "\r\n\r\n") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(text[range.upperBound...].utf8))
        }
        var errorCode: String? { ((body as? [String: Any])?["error"] as? [String: Any])?["code"] as? String }
        var description: String { "\(end): \(text.prefix(600))" }
    }

    /// Reads until the server closes the connection, or `timeout` passes.
    func readToEnd(timeout: Duration) async -> Reply {
        await onOwnThread { self.readToEndNow(timeout: timeout) }
    }

    private func readToEndNow(timeout: Duration) -> Reply {
        var reply = Reply(bytes: [], end: .timeout)
        let deadline = ContinuousClock.now + timeout
        while readable(within: ContinuousClock.now.duration(to: deadline)) {
            guard let chunk = receive(), !chunk.isEmpty else {
                reply.end = .closed
                break
            }
            reply.bytes += chunk
        }
        return reply
    }

    /// Reads one response (its head and its Content-Length of body), leaving the connection open;
    /// nil when the connection ends or `timeout` passes first.
    func readResponse(timeout: Duration) async -> Reply? {
        await onOwnThread { self.readResponseNow(timeout: timeout) }
    }

    private func readResponseNow(timeout: Duration) -> Reply? {
        var reply = Reply(bytes: [], end: .timeout)
        let deadline = ContinuousClock.now + timeout
        while readable(within: ContinuousClock.now.duration(to: deadline)) {
            guard let chunk = receive(), !chunk.isEmpty else { return nil }
            reply.bytes += chunk
            let text = reply.text
            if let head = text.range(of: "\r\n\r\n"),
               let length = text[..<head.lowerBound].split(separator: "\r\n")
                .first(where: { $0.lowercased().hasPrefix("content-length:") })
                .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }),
               text[head.upperBound...].utf8.count >= length {
                return reply
            }
        }
        return nil
    }

    /// One read: bytes, empty at the end of the stream, nil on a reset.
    private func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        return count < 0 ? nil : Array(buffer.prefix(count))
    }
}
