import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ZenServer

/// Every refusal is a JSON error with the status and code the API documents.
@Suite struct ErrorTests {
    /// (path, body, status, code) for every bad request the API names.
    static let cases: [(String, [UInt8], HTTPResponse.Status, String)] = ([
        ("/v1/classify", Array("{\"texts\": [\"好\"".utf8), .badRequest, "invalid_json"),
        ("/v1/classify", [UInt8](), .badRequest, "invalid_json"),
        ("/v1/classify", Array(#"{"texts": ["好"],}"#.utf8), .badRequest, "invalid_json"),
        ("/v1/classify", Array(#"{"texts": ["好"], "texts": ["坏"]}"#.utf8), .badRequest, "invalid_json"),
        ("/v1/classify", Array("{\"texts\": [\"".utf8) + [0xE5, 0xA5] + Array("\"]}".utf8), .badRequest, "invalid_utf8"),
        ("/v1/classify", ["model": "cls", "texts": "好"], .badRequest, "invalid_request"),
        ("/v1/classify", ["model": "cls", "texts": ["好", 3]], .badRequest, "invalid_request"),
        ("/v1/classify", ["model": "cls"], .badRequest, "invalid_request"),
        ("/v1/classify", ["model": 7, "texts": ["好"]], .badRequest, "invalid_request"),
        ("/v1/classify", ["model": "cls", "texts": ["好"], "text_pairs": ["好", "坏"]], .badRequest, "invalid_request"),
        ("/v1/classify", [["texts": ["好"]]], .badRequest, "invalid_request"),
        ("/v1/classify", ["texts": ["好"]], .badRequest, "invalid_request"),
        ("/v1/embed", ["model": "cls", "texts": ["好"], "pooling": "max"], .badRequest, "invalid_request"),
        ("/v1/fill-mask", ["model": "mlm", "text": "很[MASK]", "top_k": 0], .badRequest, "invalid_request"),
        ("/v1/fill-mask", ["model": "mlm", "text": NSNull()], .badRequest, "invalid_request"),
        ("/v1/classify", ["model": "nope", "texts": ["好"]], .notFound, "model_not_found"),
        ("/v1/classify", ["model": "cls", "texts": Array(repeating: "好", count: 5)], .contentTooLarge, "too_many_texts"),
        ("/v1/classify", ["model": "cls", "texts": ["好", String(repeating: "好", count: 41)]], .contentTooLarge, "text_too_long"),
        ("/v1/classify", ["model": "cls", "texts": [String(repeating: "好", count: 400)]], .contentTooLarge, "body_too_large"),
        ("/v1/classify", ["model": "ner", "texts": ["好"]], .unprocessableContent, "task_not_supported"),
        ("/v1/ner", ["model": "mlm", "texts": ["好"]], .unprocessableContent, "task_not_supported"),
        ("/v1/ner", ["model": "cls", "texts": ["好"]], .unprocessableContent, "task_not_supported"),
        ("/v1/fill-mask", ["model": "cls", "text": "很[MASK]"], .unprocessableContent, "task_not_supported"),
        ("/v1/classify", ["model": "cls", "texts": [String]()], .unprocessableContent, "empty_texts"),
        ("/v1/ner", ["model": "ner", "texts": ["北京", ""]], .unprocessableContent, "empty_text"),
        ("/v1/fill-mask", ["model": "mlm", "text": "很[mask]，"], .unprocessableContent, "no_mask"),
    ] as [(String, Any, HTTPResponse.Status, String)]).map { ($0.0, requestBody($0.1), $0.2, $0.3) }

    @Test(arguments: cases.indices)
    func refusedWithItsStatusAndCode(_ index: Int) async throws {
        let (path, body, status, code) = Self.cases[index]
        let limits = RequestLimits(maxBodyBytes: 1000, maxTexts: 4, maxTextChars: 40)
        try await withServer(requests: limits) { client in
            let response = try await client.post(path, body)
            let request = String(decoding: body, as: UTF8.self)
            #expect(response.status == status, "\(path) \(request)")
            #expect(errorCode(response.json) == code, "\(path) \(request)")
            #expect(response.headers[.contentType] == "application/json")
            let message = ((response.json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
            #expect(!(message ?? "").isEmpty)
        }
    }

    @Test func messagesNameTheProblem() async throws {
        try await withServer { client in
            let mistyped = try await client.post("/v1/classify", ["model": "cls", "texts": ["好", 3]])
            #expect(String(describing: mistyped.json).contains("texts[1]"))
            let missing = try await client.post("/v1/classify", ["model": "cls"])
            #expect(String(describing: missing.json).contains("missing field \\\"texts\\\""))
            let unknown = try await client.post("/v1/classify", ["model": "nope", "texts": ["好"]])
            #expect(String(describing: unknown.json).contains("cls, ner, mlm"))
        }
    }

    @Test func aBodyTooLargeNamesTheLimitAndTheOption() async throws {
        try await withServer(requests: RequestLimits(maxBodyBytes: 1000)) { client in
            let response = try await client.post("/v1/classify", ["model": "cls", "texts": [String(repeating: "好", count: 400)]])
            #expect(response.status == .contentTooLarge)
            let message = ((response.json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
            #expect(message == "the request body is larger than the limit of 1000 bytes (--max-body-bytes 1000)")
            #expect(response.headers[.connection] == "close")
        }
    }

    /// POST bodies are JSON: `application/json` with any parameters (a charset must be UTF-8), or
    /// no Content-Type; anything else is 415 naming the header and what to send. GETs are not checked.
    @Test func postBodiesMustBeDeclaredJSON() async throws {
        let body = ByteBuffer(bytes: requestBody(["model": "cls", "texts": ["好"]]))
        try await withServer { client in
            for type in [nil, "application/json", "application/json; charset=utf-8", "Application/JSON;Charset=\"UTF-8\""] {
                let response = try await client.send("/v1/classify", method: .post, headers: type.map { [.contentType: $0] } ?? [:], body: body)
                #expect(response.status == .ok, "\(type ?? "no Content-Type")")
            }
            for type in ["application/x-www-form-urlencoded", "image/png", "text/plain", "application/json; charset=latin1", "application/jsonx"] {
                for path in ["/v1/classify", "/v1/ner", "/v1/embed", "/v1/fill-mask"] {
                    let response = try await client.send(path, method: .post, headers: [.contentType: type], body: body)
                    #expect(response.status == .unsupportedMediaType, "\(path) \(type)")
                    #expect(errorCode(response.json) == "unsupported_media_type")
                    let message = ((response.json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("Content-Type is \(type)") && message.contains("Content-Type: application/json"), "\(message)")
                }
            }
            let form = try await client.send("/v1/classify", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: body)
            #expect(String(decoding: form.body, as: UTF8.self).contains("curl -d"))
            #expect(try await client.send("/healthz", method: .get, headers: [.contentType: "image/png"]).status == .ok)
        }
    }

    @Test func unknownPathIs404AndWrongMethod405() async throws {
        try await withServer { client in
            let unknown = try await client.send("/v2/classify", method: .post)
            #expect(unknown.status == .notFound)
            #expect(errorCode(unknown.json) == "not_found")
            for (path, method, allowed) in [("/v1/classify", HTTPRequest.Method.get, "POST"), ("/healthz", .post, "GET"),
                                            ("/v1/models", .delete, "GET"), ("/v1/embed", .put, "POST")] {
                let response = try await client.send(path, method: method)
                #expect(response.status == .methodNotAllowed)
                #expect(errorCode(response.json) == "method_not_allowed")
                #expect(response.headers[.allow] == allowed)
            }
        }
    }
}
