import ZenModel

// The response bodies of the inference endpoints (`openapi.yaml` documents each field).

struct ClassifyResponse: Encodable {
    /// `id2label`'s name, else the class index as a number: the same JSON value `zen predict` writes.
    enum Label: Encodable {
        case name(String)
        case index(Int)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .name(let name): try container.encode(name)
            case .index(let index): try container.encode(index)
            }
        }
    }

    struct Result: Encodable {
        var label: Label
        var index: Int
        /// The softmax probability of `label`.
        var score: Float
        var logits: [Float]
    }

    var results: [Result]
}

struct NERResponse: Encodable {
    struct Entity: Encodable {
        var type: String
        /// Unicode-scalar offsets into the text; `end` is exclusive.
        var start: Int
        var end: Int
        var text: String
    }

    struct Result: Encodable {
        var entities: [Entity]
        /// One per Unicode scalar of the text.
        var labels: [String]
        /// The text went past max-seq-length; labels past that point are "O".
        var truncated: Bool
    }

    var results: [Result]
}

struct EmbedResponse: Encodable {
    var embeddings: [[Float]]
    var pooling: Pooling
}

struct FillMaskResponse: Encodable {
    struct Candidate: Encodable {
        var token: String
        var score: Float
    }

    struct Mask: Encodable {
        /// The token index of the `[MASK]`, `[CLS]` being 0.
        var position: Int
        var candidates: [Candidate]
    }

    var masks: [Mask]
}
