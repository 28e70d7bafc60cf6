import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import ZenModel
@testable import ZenServer

/// The fixture models, loaded once, and an in-process server over them.
enum Fixtures {
    static let models = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/models").path
    static let data = URL(fileURLWithPath: models).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data").path

    static let classifier = try! ZenModel(directory: models + "/zen2-tiny-cls")
    static let tagger = try! ZenModel(directory: models + "/zen2-tiny-ner")
    static let maskedLM = try! ZenModel(directory: models + "/zen2-tiny-mlm")

    /// Hotel reviews of the sentiment test split: real texts of many lengths, some past 128 tokens.
    static let reviews: [String] = {
        let lines = try! String(contentsOfFile: data + "/sentiment/test.json", encoding: .utf8).split(separator: "\n").prefix(40)
        return lines.map { (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["sentence"] as! String }
    }()

    static let sentences = ["王小明在北京大学读书。", "中国人民银行发布公告", "他说：“我们明天去上海。”", "  空 格 "]

    static func served(_ names: [String] = ["cls", "ner", "mlm"], maxSeqLength: Int = 128) throws -> [ServedModel] {
        let all = ["cls": classifier, "ner": tagger, "mlm": maskedLM]
        return try names.map { try ServedModel(name: $0, model: all[$0]!, maxSeqLength: maxSeqLength) }
    }
}

/// Runs `test` against a server over `models`, requests going straight to its router.
func withServer<Value: Sendable>(_ models: [ServedModel]? = nil, requests: RequestLimits = .init(),
                                 batching: BatchScheduler.Limits = .init(maxWait: .zero),
                                 _ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
    let server = InferenceServer(models: try models ?? Fixtures.served(), configuration: .init(requests: requests, batching: batching))
    return try await Application(router: server.router()).test(.router, test)
}

/// A response, its body parsed as JSON on demand.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: Data
    var json: Any? { try? JSONSerialization.jsonObject(with: body) }
}

/// The bytes of a JSON value, or the bytes themselves when given bytes.
func requestBody(_ body: Any) -> [UInt8] {
    body as? [UInt8] ?? Array(try! JSONSerialization.data(withJSONObject: body))
}

extension TestClientProtocol {
    /// POSTs `body`: a JSON value, or raw bytes.
    func post(_ path: String, _ body: Any) async throws -> Reply {
        try await send(path, method: .post, body: ByteBuffer(bytes: requestBody(body)))
    }

    func send(_ path: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil) async throws -> Reply {
        try await execute(uri: path, method: method, headers: headers, body: body) {
            Reply(status: $0.status, headers: $0.headers, body: Data(buffer: $0.body))
        }
    }
}

/// Polls `condition` until it holds; past `limit`, fails the test naming `what` instead of waiting forever.
func waitUntil(_ what: String, within limit: Duration = .seconds(300), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("gave up waiting after \(limit): \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// The `{"error": {"code", "message"}}` of an error response.
func errorCode(_ json: Any?) -> String? {
    ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String
}

func floats(_ value: Any?) -> [Float] { (value as? [NSNumber] ?? []).map(\.floatValue) }

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    #expect(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
