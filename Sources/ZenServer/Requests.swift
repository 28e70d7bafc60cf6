import Foundation
import Hummingbird
import ZenModel
import ZenText

// The request bodies of the inference endpoints. Unknown fields are ignored; a wrong type, a
// missing field or a null where a value is needed is a 400 that names the field.

struct ClassifyRequest: Decodable {
    var model: String?
    var texts: [String]
    /// One second text per text; null for a text without one.
    var textPairs: [String?]?

    enum CodingKeys: String, CodingKey {
        case model, texts
        case textPairs = "text_pairs"
    }
}

struct NERRequest: Decodable {
    var model: String?
    var texts: [String]
}

struct EmbedRequest: Decodable {
    var model: String?
    var texts: [String]
    var pooling: String?
}

struct FillMaskRequest: Decodable {
    var model: String?
    var text: String
    var topK: Int?

    enum CodingKeys: String, CodingKey {
        case model, text
        case topK = "top_k"
    }
}

/// Reads the body (at most `limit` bytes) as UTF-8 JSON into `T`.
func decodeBody<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
    var request = request
    let body: Data
    do {
        body = Data(buffer: try await request.collectBody(upTo: limit))
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
        throw APIError.bodyTooLarge(limit: limit)
    }
    guard String(validating: body, as: UTF8.self) != nil else {
        throw APIError(.badRequest, "invalid_utf8", "the request body is not valid UTF-8")
    }
    guard !body.isEmpty else { throw APIError(.badRequest, "invalid_json", "the request body is empty; expected a JSON object") }
    do {
        return try JSONInput.decode(T.self, from: body)
    } catch let error as JSONSyntaxError {
        throw APIError(.badRequest, "invalid_json", "the request body is not valid JSON: \(error)")
    } catch let error as DecodingError {
        throw APIError(error)
    }
}

extension APIError {
    init(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            self = .invalidRequest("missing field \"\(DecodingError.fieldPath(context, appending: key))\"")
        case .valueNotFound(let type, let context):
            self = .invalidRequest("field \"\(DecodingError.fieldPath(context))\" is null; expected \(DecodingError.jsonTypeName(type))")
        case .typeMismatch(let type, let context) where context.codingPath.isEmpty:
            self = .invalidRequest("the body must be \(DecodingError.jsonTypeName(type))")
        case .typeMismatch(let type, let context):
            self = .invalidRequest("field \"\(DecodingError.fieldPath(context))\" must be \(DecodingError.jsonTypeName(type))")
        case .dataCorrupted(let context):
            self = .invalidRequest("field \"\(DecodingError.fieldPath(context))\": \(context.debugDescription)")
        @unknown default:
            self = .invalidRequest("\(error)")
        }
    }
}
