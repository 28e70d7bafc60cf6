import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Yams
@testable import ZenServer

/// `GET /openapi.yaml` is true to the server: the same routes, the statuses they answer, and
/// responses whose every field the schemas describe.
@Suite struct OpenAPITests {
    static var document: [String: Any] { try! Yams.load(yaml: openAPIDocument) as! [String: Any] }

    static var paths: [String: [String: Any]] { document["paths"] as! [String: [String: Any]] }

    @Test func servedAsYAML() async throws {
        try await withServer { client in
            let response = try await client.send("/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/yaml")
            let served = try Yams.load(yaml: String(decoding: response.body, as: UTF8.self)) as? [String: Any]
            #expect(served?["openapi"] as? String == "3.0.3")
        }
    }

    @Test func documentsExactlyTheRoutes() throws {
        let server = InferenceServer(models: try Fixtures.served(), configuration: .init())
        let routes = Set(server.routes.map { "\($0.method.rawValue.lowercased()) \($0.path)" })
        let documented = Set(Self.paths.flatMap { path, operations in operations.keys.map { "\($0) \(path)" } })
        #expect(routes == documented)
    }

    /// One request per route and per error the tests provoke; each answer must match its documented response.
    @Test func responsesMatchTheirSchemas() async throws {
        let requests: [(String, HTTPRequest.Method, [UInt8]?)] = [
            ("/healthz", .get, nil), ("/v1/models", .get, nil),
            ("/v1/classify", .post, requestBody(["model": "cls", "texts": ["房间很干净"], "text_pairs": ["价格也合适"]])),
            ("/v1/ner", .post, requestBody(["model": "ner", "texts": Fixtures.sentences])),
            ("/v1/embed", .post, requestBody(["model": "cls", "texts": ["房间很干净"], "pooling": "mean"])),
            ("/v1/fill-mask", .post, requestBody(["model": "mlm", "text": "房间很[MASK]净"])),
            ("/v1/classify", .post, requestBody(["model": "cls", "texts": 3])),
            ("/v1/ner", .post, requestBody(["model": "nope", "texts": ["好"]])),
            ("/v1/embed", .post, requestBody(["model": "cls", "texts": [String(repeating: "好", count: 5000)]])),
            ("/v1/fill-mask", .post, requestBody(["model": "mlm", "text": "房间很干净"])),
            ("/v1/classify", .get, nil), ("/healthz", .post, nil),
        ]
        try await withServer { client in
            // The last one: a form, where JSON is expected (415).
            let form: (String, HTTPRequest.Method, HTTPFields, [UInt8]?) = ("/v1/embed", .post, [.contentType: "application/x-www-form-urlencoded"],
                                                                              Array("texts=好".utf8))
            for (path, method, headers, body) in requests.map({ ($0.0, $0.1, HTTPFields(), $0.2) }) + [form] {
                let response = try await client.send(path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
                let operation = try #require(Self.paths[path]?[method == .get ? "get" : "post"] as? [String: Any]
                                             ?? Self.paths[path]?.values.first as? [String: Any])
                let responses = try #require(operation["responses"] as? [String: Any])
                let documented = try #require(responses[String(response.status.code)].map(Self.resolve) as? [String: Any],
                                              "\(method) \(path) answered \(response.status.code), which is not documented")
                let content = try #require(documented["content"] as? [String: Any])
                guard let schema = (content["application/json"] as? [String: Any])?["schema"] as? [String: Any] else { continue }
                let json = try #require(response.json, "\(method) \(path): not JSON")
                let problems = Self.validate(json, schema, at: "\(method) \(path) \(response.status.code)")
                #expect(problems.isEmpty, "\(problems)")
            }
        }
    }

    /// What a connection can answer on any path (a request not received in time) is documented on
    /// every operation, and 415 on every operation with a body.
    @Test func connectionAnswersAreDocumentedEverywhere() throws {
        for (path, operations) in Self.paths {
            for (method, operation) in operations {
                let responses = try #require((operation as? [String: Any])?["responses"] as? [String: Any])
                #expect(responses["408"] != nil, "\(method) \(path)")
                #expect((responses["415"] != nil) == (method == "post"), "\(method) \(path)")
            }
        }
    }

    @Test func theValidatorRejectsWhatTheSchemasDoNotAllow() {
        let classify = ((((Self.paths["/v1/classify"]!["post"] as! [String: Any])["responses"] as! [String: Any])["200"]
            as! [String: Any])["content"] as! [String: Any])["application/json"] as! [String: Any]
        let schema = classify["schema"] as! [String: Any]
        let good: [String: Any] = ["results": [["label": "a", "index": 0, "score": 0.5, "logits": [0.1, 0.2], "probabilities": [0.5, 0.5]]]]
        #expect(Self.validate(good, schema, at: "").isEmpty)
        #expect(Self.validate(["results": [["label": "a", "index": 0, "score": 0.5, "logits": [0.1], "probabilities": [1], "extra": 1]]], schema, at: "").count == 1)
        #expect(Self.validate(["results": [["label": 1, "index": 0, "score": 0.5, "logits": [0.1], "probabilities": [1]]]], schema, at: "").isEmpty)
        #expect(Self.validate(["results": [["label": [1], "index": 0.5, "score": 0.5, "logits": [0.1], "probabilities": [1]]]], schema, at: "").count == 2)
        #expect(Self.validate(["results": [["label": "a"]]], schema, at: "").count == 4)
    }

    static func resolve(_ node: Any) -> Any {
        guard let reference = (node as? [String: Any])?["$ref"] as? String else { return node }
        return resolve(reference.dropFirst(2).split(separator: "/").reduce(document as Any) { ($0 as! [String: Any])[String($1)]! })
    }

    /// The subset of JSON Schema the document uses; objects may not carry undocumented fields.
    static func validate(_ value: Any, _ schema: [String: Any], at path: String) -> [String] {
        let schema = resolve(schema) as! [String: Any]
        if value is NSNull { return schema["nullable"] as? Bool == true ? [] : ["\(path): null"] }
        if let choices = schema["oneOf"] as? [[String: Any]] {
            return choices.filter { validate(value, $0, at: path).isEmpty }.count == 1 ? [] : ["\(path): matches not exactly one of \(choices)"]
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): not an object"] }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            let missing = (schema["required"] as? [String] ?? []).filter { object[$0] == nil }.map { "\(path): missing \($0)" }
            return missing + object.flatMap { key, value -> [String] in
                guard let property = properties[key] as? [String: Any] else { return ["\(path): undocumented field \(key)"] }
                return validate(value, property, at: "\(path).\(key)")
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): not an array"] }
            let items = schema["items"] as! [String: Any]
            return array.enumerated().flatMap { validate($1, items, at: "\(path)[\($0)]") }
        case "string":
            guard let string = value as? String else { return ["\(path): not a string"] }
            if let allowed = schema["enum"] as? [String], !allowed.contains(string) { return ["\(path): \(string) not in \(allowed)"] }
            return []
        case "integer":
            guard let number = value as? NSNumber, number.doubleValue.rounded() == number.doubleValue else { return ["\(path): not an integer"] }
            return []
        case "number":
            return value is NSNumber ? [] : ["\(path): not a number"]
        case "boolean":
            return value is Bool ? [] : ["\(path): not a boolean"]
        default:
            return ["\(path): schema without a type"]
        }
    }
}
