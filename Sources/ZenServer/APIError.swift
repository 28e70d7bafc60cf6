import Foundation
import Hummingbird
import NIOHTTP1
import ZenModel
import ZenText

/// Every failure the API reports: a status, a stable machine-readable `code`, and a message for
/// people. Rendered as `{"error": {"code": ..., "message": ...}}`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Headers the status calls for: `Retry-After` on a 503, `Allow` on a 405.
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        (self.status, self.code, self.message, self.headers) = (status, code, message, headers)
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static func invalidRequest(_ message: String) -> APIError { APIError(.badRequest, "invalid_request", message) }
    static func unprocessable(_ code: String, _ message: String) -> APIError { APIError(.unprocessableContent, code, message) }
    static func tooLarge(_ code: String, _ message: String) -> APIError { APIError(.contentTooLarge, code, message) }

    /// A body past `--max-body-bytes`. The connection closes after it: the rest of the body is
    /// not read (see `ConnectionGuard`), so a client cannot make the server read megabytes it refused.
    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "the request body is larger than the limit of \(limit) bytes (--max-body-bytes \(limit))",
                 headers: [.connection: "close"])
    }

    /// Bytes that are not HTTP/1.1 (a malformed chunk size, an unsupported `Transfer-Encoding`,
    /// a bad header): nothing after them on the connection can be trusted, so it closes.
    init(_ error: HTTPParserError) {
        let what = switch error {
        case .invalidChunkSize: "a chunk size is not a hexadecimal number or is too large"
        case .unknown: "the request is malformed (e.g. a Transfer-Encoding other than chunked)"
        case .invalidContentLength, .unexpectedContentLength: "the Content-Length header is invalid or contradicts Transfer-Encoding"
        case .headerOverflow: "the headers are too large"
        case .invalidHeaderToken: "a header is malformed"
        case .invalidMethod: "the method is not valid"
        case .invalidURL: "the request target is not valid"
        case .invalidVersion: "the HTTP version is not valid"
        default: "\(error)"
        }
        self.init(.badRequest, "invalid_http", "the request is not valid HTTP/1.1: \(what); send a well-formed request",
                  headers: [.connection: "close"])
    }

    /// The body of the response.
    var json: Data {
        struct Body: Encodable { var error: Detail }
        struct Detail: Encodable { var code: String, message: String }
        // Two strings cannot fail to encode.
        return try! JSONOutput.encode(Body(error: Detail(code: code, message: message)))
    }

    /// Hummingbird's own errors (no route, a parser failure) in the API's form.
    init(_ error: any HTTPResponseError) {
        switch error.status {
        case .notFound: self.init(.notFound, "not_found", "no such path")
        case let status: self.init(status, "http_error", status.reasonPhrase)
        }
    }
}

/// Turns every error below it into the API's JSON error response, so that no failure leaves
/// as an empty body or a dropped connection. Errors that are not the API's own are logged and
/// become a 500 without their internals. The text pipeline's and the model's errors on a
/// well-formed request mean the model cannot serve it: 422.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as any HTTPResponseError {
            return APIError(error).response
        } catch let error as HTTPParserError {
            // Thrown while the body is read, e.g. a malformed chunk: the client's fault, not the server's.
            return APIError(error).response
        } catch let error as TextError {
            return APIError.unprocessable("cannot_serve", error.description).response
        } catch let error as ModelError {
            return APIError.unprocessable("cannot_serve", error.description).response
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIError(.internalServerError, "internal", "the server failed to answer the request").response
        }
    }
}

extension APIError {
    var response: Response {
        Response(status: status, headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    var responseHeaders: HTTPFields {
        var headers = headers
        headers[.contentType] = "application/json"
        return headers
    }
}
