import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import ZenModel
@testable import ZenServer

/// Every endpoint's answer equals what the library (and so `zen predict`) computes for the same
/// input one at a time, although the server runs the texts of a request as one batch.
@Suite struct EndpointTests {
    @Test func healthAndModels() async throws {
        try await withServer { client in
            let health = try await client.send("/healthz", method: .get)
            #expect(health.status == .ok)
            #expect((health.json as? [String: String]) == ["status": "ok"])

            let list = try await client.send("/v1/models", method: .get)
            let models = try #require((list.json as? [String: Any])?["models"] as? [[String: Any]])
            #expect(models.map { $0["name"] as? String } == ["cls", "ner", "mlm"])
            #expect(models[0]["tasks"] as? [String] == ["embed", "classification"])
            #expect(models[1]["tasks"] as? [String] == ["embed", "ner"])
            #expect(models[2]["tasks"] as? [String] == ["embed", "fill-mask"])
            let labels = try #require(models[1]["labels"] as? [String])
            #expect(labels == (0..<labels.count).map { Fixtures.tagger.config.id2label![$0]! })
            let config = try #require(models[0]["config"] as? [String: Any])
            #expect(config["hidden_size"] as? Int == Fixtures.classifier.config.hiddenSize)
            #expect(config["max_seq_length"] as? Int == 128)
            #expect(config["precision"] as? String == "fp32")
        }
    }

    @Test func modelsReportTheirPrecision() async throws {
        let bf16 = try ServedModel(name: "cls", model: ZenModel(directory: Fixtures.models + "/zen2-tiny-cls", precision: .bf16), maxSeqLength: 64)
        try await withServer([bf16]) { client in
            let list = try await client.send("/v1/models", method: .get)
            let config = ((list.json as? [String: Any])?["models"] as? [[String: Any]])?.first?["config"] as? [String: Any]
            #expect(config?["precision"] as? String == "bf16")
            #expect(config?["max_seq_length"] as? Int == 64)
            #expect(try await client.post("/v1/classify", ["texts": ["房间很干净"]]).status == .ok)
        }
    }

    @Test func classifyMatchesPredictOneByOne() async throws {
        let texts = Fixtures.reviews
        // An empty second text counts as none, as in the reference.
        let pairs: [String?] = texts.indices.map { [ "房间很干净", "", nil][$0 % 3] }
        let expected = try texts.indices.map { try Fixtures.classifier.classify([texts[$0]], pairs: [pairs[$0]])[0] }
        try await withServer { client in
            let response = try await client.post("/v1/classify", ["model": "cls", "texts": texts, "text_pairs": pairs.map { $0.map { $0 as Any } ?? NSNull() }])
            #expect(response.status == .ok)
            let results = try #require((response.json as? [String: Any])?["results"] as? [[String: Any]])
            #expect(results.count == texts.count)
            for (result, expected) in zip(results, expected) {
                #expect(maxDifference(floats(result["logits"]), expected.logits) <= 1e-6)
                #expect(result["index"] as? Int == expected.labelIndex)
                #expect(result["label"] as? Int == expected.labelIndex)
                #expect(abs((result["score"] as? NSNumber)!.floatValue - expected.probabilities[expected.labelIndex]) <= 1e-6)
            }
        }
    }

    /// The command line's rule (`JSONInput`): a lone surrogate escape reads as U+FFFD, which the
    /// tokenizer drops as the reference drops the surrogate; the text is classified without it.
    @Test func aLoneSurrogateIsDroppedAsOnTheCommandLine() async throws {
        let expected = try Fixtures.classifier.classify(["房间很干净"])[0]
        try await withServer { client in
            let response = try await client.post("/v1/classify", Array(#"{"model": "cls", "texts": ["房间\ud800很干净"]}"#.utf8))
            #expect(response.status == .ok)
            let result = try #require(((response.json as? [String: Any])?["results"] as? [[String: Any]])?.first)
            #expect(maxDifference(floats(result["logits"]), expected.logits) <= 1e-6)
        }
    }

    @Test func modelMayBeOmittedWhenOnlyOneIsLoaded() async throws {
        try await withServer(Fixtures.served(["cls"])) { client in
            let response = try await client.post("/v1/classify", ["texts": ["房间很干净"]])
            #expect(response.status == .ok)
        }
    }

    @Test func nerMatchesTaggingOneByOne() async throws {
        // The last sentence is longer than max-seq-length: it is tagged whole, in windows.
        let texts = Fixtures.sentences + [String(repeating: "北京大学", count: 40)]
        let expected = try texts.map { try Fixtures.tagger.tag(text: $0) }
        try await withServer { client in
            let response = try await client.post("/v1/ner", ["model": "ner", "texts": texts])
            #expect(response.status == .ok)
            let results = try #require((response.json as? [String: Any])?["results"] as? [[String: Any]])
            for (index, (result, expected)) in zip(results, expected).enumerated() {
                #expect(result["labels"] as? [String] == expected.labels)
                #expect((result["labels"] as? [String])?.count == texts[index].unicodeScalars.count)
                #expect(result["truncated"] as? Bool == false)
                let entities = try #require(result["entities"] as? [[String: Any]])
                #expect(entities.map { [$0["type"] as! String, String($0["start"] as! Int), String($0["end"] as! Int), $0["text"] as! String] }
                    == expected.entities.map { [$0.type, String($0.start), String($0.end), $0.text] })
                // Offsets are Unicode scalars of the original text.
                let scalars = Array(texts[index].unicodeScalars)
                for entity in entities {
                    let (start, end) = (entity["start"] as! Int, entity["end"] as! Int)
                    #expect(String(String.UnicodeScalarView(scalars[start..<end])) == entity["text"] as? String)
                }
            }
        }
    }

    @Test func nerTagsLongTextsWholeInWindowsOfTheBatch() async throws {
        // At max-seq-length 16 every review runs as several windows, all in one batch.
        let texts = Array(Fixtures.reviews.prefix(5))
        let expected = try texts.map { try Fixtures.tagger.tag(text: $0, maxSeqLength: 16) }
        try await withServer(Fixtures.served(["ner"], maxSeqLength: 16)) { client in
            let response = try await client.post("/v1/ner", ["texts": texts])
            #expect(response.status == .ok)
            let results = try #require((response.json as? [String: Any])?["results"] as? [[String: Any]])
            for (index, (result, expected)) in zip(results, expected).enumerated() {
                #expect(texts[index].unicodeScalars.count > 14)
                #expect(result["labels"] as? [String] == expected.labels)
                #expect(result["truncated"] as? Bool == false)
                #expect((result["entities"] as? [[String: Any]])?.count == expected.entities.count)
            }
        }
    }

    @Test(arguments: Pooling.allCases)
    func embedPools(_ pooling: Pooling) async throws {
        let texts = Array(Fixtures.reviews.prefix(6))
        let outputs = try Fixtures.classifier.embed(texts, batchSize: 1)
        try await withServer { client in
            let response = try await client.post("/v1/embed", ["model": "cls", "texts": texts, "pooling": pooling.rawValue])
            #expect(response.status == .ok)
            let embeddings = try #require((response.json as? [String: Any])?["embeddings"] as? [[NSNumber]])
            for (embedding, output) in zip(embeddings, outputs) {
                let expected = switch pooling {
                case .pooler: output.pooled!
                case .cls: output.sequence.row(0)
                case .mean: (0..<output.sequence.shape[1]).map { column in
                    (0..<output.sequence.shape[0]).map { output.sequence.row($0)[column] }.reduce(0, +) / Float(output.sequence.shape[0])
                }
                }
                #expect(maxDifference(embedding.map(\.floatValue), expected) <= 1e-5)
            }
        }
    }

    @Test func fillMaskMatchesTheLibrary() async throws {
        let text = "今天天[MASK]很好，我们去[MASK]园。"
        let expected = try Fixtures.maskedLM.fillMask(text, topK: 3)
        try await withServer { client in
            let response = try await client.post("/v1/fill-mask", ["model": "mlm", "text": text, "top_k": 3])
            #expect(response.status == .ok)
            let masks = try #require((response.json as? [String: Any])?["masks"] as? [[String: Any]])
            #expect(masks.count == 2)
            #expect(masks.map { $0["position"] as? Int } == [4, 11])
            for (mask, expected) in zip(masks, expected.masks) {
                let candidates = try #require(mask["candidates"] as? [[String: Any]])
                #expect(candidates.map { $0["token"] as? String } == expected.candidates.map(\.token))
                #expect(maxDifference(candidates.map { ($0["score"] as! NSNumber).floatValue }, expected.candidates.map(\.probability)) <= 1e-6)
            }
        }
    }

    @Test func fillMaskTakesAMaskGluedToPunctuation() async throws {
        // The reference tokenizer would split both of these [MASK]s apart; people type them so.
        let text = "我今天很[MASK]，因为天气很好[MASK][MASK]"
        let expected = try Fixtures.maskedLM.fillMask(text, topK: 2)
        #expect(expected.masks.map(\.position) == [5, 13, 14])
        try await withServer { client in
            let response = try await client.post("/v1/fill-mask", ["model": "mlm", "text": text, "top_k": 2])
            #expect(response.status == .ok)
            let masks = try #require((response.json as? [String: Any])?["masks"] as? [[String: Any]])
            #expect(masks.map { $0["position"] as? Int } == expected.masks.map(\.position))
            for (mask, expected) in zip(masks, expected.masks) {
                let candidates = try #require(mask["candidates"] as? [[String: Any]])
                #expect(candidates.map { $0["token"] as? String } == expected.candidates.map(\.token))
            }
            let none = try await client.post("/v1/fill-mask", ["model": "mlm", "text": "我今天很好，[mask]"])
            #expect(none.status == .unprocessableContent)
            #expect(errorCode(none.json) == "no_mask")
            #expect(String(describing: none.json).contains("no [MASK] within max_seq_length 128"))
        }
    }

    @Test func metricsCountRequestsLatencyBatchesAndQueue() async throws {
        try await withServer { client in
            _ = try await client.post("/v1/classify", ["model": "cls", "texts": ["房间很干净", "服务很差"]])
            _ = try await client.post("/v1/classify", ["model": "nope", "texts": ["房间很干净"]])
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"zen_http_requests_total{path="/v1/classify",method="POST",status="200"} 1"#))
            #expect(metrics.contains(#"zen_http_requests_total{path="/v1/classify",method="POST",status="404"} 1"#))
            #expect(metrics.contains(#"zen_http_request_duration_seconds_count{path="/v1/classify"} 2"#))
            #expect(metrics.contains("zen_batch_size_sum 2"))
            #expect(metrics.contains("zen_batch_size_count 1"))
            #expect(metrics.contains("zen_queue_depth 0"))
        }
    }
}
