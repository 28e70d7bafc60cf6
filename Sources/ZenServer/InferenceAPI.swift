import Foundation
import Hummingbird
import ZenModel
import ZenText

/// Request limits: what a single request may ask for.
public struct RequestLimits: Sendable {
    public var maxBodyBytes: Int
    public var maxTexts: Int
    /// Per text, in Unicode scalars.
    public var maxTextChars: Int

    public init(maxBodyBytes: Int = 1_048_576, maxTexts: Int = 64, maxTextChars: Int = 4096) {
        (self.maxBodyBytes, self.maxTexts, self.maxTextChars) = (maxBodyBytes, maxTexts, maxTextChars)
    }
}

/// The handlers of `/v1/*`: check the request, build its features, run them through the shared
/// scheduler, and apply the task's head to the outputs.
struct InferenceAPI: Sendable {
    let models: [ServedModel]
    let scheduler: BatchScheduler
    let limits: RequestLimits

    func listModels(_ request: Request, context: some RequestContext) throws -> Response {
        try jsonResponse(ModelList(models))
    }

    func classify(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decodeBody(ClassifyRequest.self, from: request, limit: limits.maxBodyBytes)
        let served = try model(named: body.model, for: .classification)
        try check(body.texts)
        if let pairs = body.textPairs {
            guard pairs.count == body.texts.count else {
                throw APIError.invalidRequest("\"text_pairs\" has \(pairs.count) entries for \(body.texts.count) texts; give one per text (null for none)")
            }
            // An empty second text is no second text, as in the reference.
            for (index, pair) in pairs.enumerated() { if let pair { try checkLength(pair, name: "text_pairs[\(index)]") } }
        }
        let features = try body.texts.indices.map { index in
            try served.featureBuilder.sequenceFeatures(text: body.texts[index], pair: body.textPairs?[index] ?? nil)
        }
        let outputs = try await scheduler.encode(features, on: served)
        let results = try served.model.classifications(of: outputs)
        return try jsonResponse(ClassifyResponse(results: results))
    }

    func ner(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decodeBody(NERRequest.self, from: request, limit: limits.maxBodyBytes)
        let served = try model(named: body.model, for: .ner)
        try check(body.texts)
        let chars = body.texts.map { $0.unicodeScalars.map { String($0) } }
        // A text longer than --max-seq-length runs as several windows, each an input of the batch.
        let windows = try chars.map { try served.featureBuilder.tokenWindows(words: $0, longTexts: served.longTexts) }
        let outputs = try await scheduler.encode(windows.flatMap { $0.map(\.features) }, on: served)
        let results = try served.model.tagged(chars, windows: windows, outputs: outputs)
        return try jsonResponse(NERResponse(results: results))
    }

    func embed(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decodeBody(EmbedRequest.self, from: request, limit: limits.maxBodyBytes)
        let pooling = try body.pooling.map { name in
            guard let pooling = Pooling(rawValue: name) else {
                throw APIError.invalidRequest("\"pooling\" is \"\(name)\"; expected one of \(Pooling.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return pooling
        } ?? .cls
        let served = try model(named: body.model, for: .embed)
        try check(body.texts)
        let features = try body.texts.map { try served.featureBuilder.sequenceFeatures(text: $0) }
        let outputs = try await scheduler.encode(features, on: served)
        return try jsonResponse(EmbedResponse(embeddings: try outputs.map { try $0.pooled(by: pooling) }, pooling: pooling))
    }

    func fillMask(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decodeBody(FillMaskRequest.self, from: request, limit: limits.maxBodyBytes)
        let served = try model(named: body.model, for: .fillMask)
        let topK = body.topK ?? 5
        guard (1...served.model.config.vocabSize).contains(topK) else {
            throw APIError.invalidRequest("\"top_k\" is \(topK); expected 1...\(served.model.config.vocabSize)")
        }
        try check([body.text], field: "text")
        let features = try served.featureBuilder.sequenceFeatures(text: body.text, masks: .literal)
        guard let maskId = served.model.vocabulary.maskId, features.inputIds.contains(maskId) else {
            throw APIError.unprocessable("no_mask", ModelError.noMaskToken(maxSeqLength: served.featureBuilder.maxSeqLength).description)
        }
        let output = try await scheduler.encode([features], on: served)[0]
        let predictions = try served.model.maskPredictions(features: features, output: output, topK: topK)
        return try jsonResponse(FillMaskResponse(masks: predictions.masks))
    }

    /// What a POST must be before its body is read: JSON (415 otherwise; a request without
    /// `Content-Type` is taken as JSON), and not declared larger than `--max-body-bytes` (413 at
    /// once: none of the body is read).
    func checkHead(of request: Request) throws {
        if let contentType = request.headers[.contentType] { try checkJSON(contentType: contentType) }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw APIError.bodyTooLarge(limit: limits.maxBodyBytes)
        }
    }

    /// `application/json`, with any parameters; a charset, if named, must be UTF-8.
    private func checkJSON(contentType: String) throws {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        let mediaType = parts.first?.lowercased() ?? ""
        let charset = parts.dropFirst().lazy.compactMap { parameter -> String? in
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "charset" else { return nil }
            return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
        }.first
        guard mediaType == "application/json" else {
            let curl = mediaType == "application/x-www-form-urlencoded" ? " (what curl -d sends: add -H 'Content-Type: application/json')" : ""
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "the request's Content-Type is \(contentType)\(curl); send the body as JSON, with Content-Type: application/json")
        }
        if let charset, charset != "utf-8", charset != "utf8" {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "the request's Content-Type is \(contentType); the body must be UTF-8 JSON, sent with Content-Type: application/json")
        }
    }

    /// The model a request names, or the only one; it must serve `task`.
    private func model(named name: String?, for task: ModelTask) throws -> ServedModel {
        let names = models.map(\.name).joined(separator: ", ")
        let served: ServedModel
        if let name {
            guard let named = models.first(where: { $0.name == name }) else {
                throw APIError(.notFound, "model_not_found", "no model named \"\(name)\" is loaded (loaded: \(names))")
            }
            served = named
        } else {
            guard models.count == 1 else { throw APIError.invalidRequest("missing field \"model\": \(models.count) models are loaded (\(names))") }
            served = models[0]
        }
        guard served.tasks.contains(task) else {
            throw APIError.unprocessable("task_not_supported",
                                         "model \"\(served.name)\" cannot serve \(task.rawValue): its heads serve \(served.tasks.map(\.rawValue).joined(separator: ", "))")
        }
        return served
    }

    /// One to `maxTexts` non-empty texts, none too long.
    private func check(_ texts: [String], field: String = "texts") throws {
        guard !texts.isEmpty else { throw APIError.unprocessable("empty_texts", "\"\(field)\" is empty; send at least one text") }
        guard texts.count <= limits.maxTexts else {
            throw APIError.tooLarge("too_many_texts", "\"\(field)\" has \(texts.count) texts; the limit is \(limits.maxTexts) per request (--max-texts)")
        }
        for (index, text) in texts.enumerated() {
            let name = field == "text" ? field : "\(field)[\(index)]"
            if text.isEmpty { throw APIError.unprocessable("empty_text", "\"\(name)\" is an empty string") }
            try checkLength(text, name: name)
        }
    }

    private func checkLength(_ text: String, name: String) throws {
        let length = text.unicodeScalars.count
        guard length <= limits.maxTextChars else {
            throw APIError.tooLarge("text_too_long", "\"\(name)\" has \(length) characters (Unicode scalars); the limit is \(limits.maxTextChars) (--max-text-chars)")
        }
    }
}

func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try JSONOutput.encode(value))))
}
