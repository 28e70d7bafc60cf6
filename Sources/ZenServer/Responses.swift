import ZenModel
import ZenText

// The response bodies of the inference endpoints (`openapi.yaml` documents each field). The
// results themselves encode as ZenModel defines them, the same JSON `zen predict` writes.

struct ClassifyResponse: Encodable {
    var results: [Classification]
}

struct NERResponse: Encodable {
    var results: [TaggedSequence]
}

struct EmbedResponse: Encodable {
    var embeddings: [[Float]]
    var pooling: Pooling

    private enum CodingKeys: String, CodingKey { case embeddings, pooling }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(numberRows: embeddings, forKey: .embeddings)
        try container.encode(pooling, forKey: .pooling)
    }
}

struct FillMaskResponse: Encodable {
    var masks: [MaskPrediction]
}
