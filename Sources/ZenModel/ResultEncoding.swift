import ZenText

// The JSON form of the task results: `zen predict`/`zen embed` lines and the server's responses
// both encode them through these conformances and `JSONOutput`'s one encoder configuration.
// Floats go through `encode(number:)`, so a NaN or infinite logit is written as null.

/// A class as results name it: `id2label`'s name, else the class index as a number.
public enum ClassLabel: Encodable, Sendable, Equatable {
    case name(String)
    case index(Int)

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .name(let name): try container.encode(name)
        case .index(let index): try container.encode(index)
        }
    }
}

extension Classification: Encodable {
    /// `label` as results write it.
    public var classLabel: ClassLabel { label.map { .name($0) } ?? .index(labelIndex) }

    private enum CodingKeys: String, CodingKey { case label, index, score, logits, probabilities }

    /// `{"label", "index", "score" (the label's probability), "logits", "probabilities" (softmax)}`
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(classLabel, forKey: .label)
        try container.encode(labelIndex, forKey: .index)
        try container.encode(number: probabilities[labelIndex], forKey: .score)
        try container.encode(numbers: logits, forKey: .logits)
        try container.encode(numbers: probabilities, forKey: .probabilities)
    }
}

extension Entity: Encodable {
    private enum CodingKeys: String, CodingKey { case type, start, end, text }

    /// `{"type", "start", "end" (exclusive), "text"}`, offsets into the input characters.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(start, forKey: .start)
        try container.encode(end, forKey: .end)
        try container.encode(text, forKey: .text)
    }
}

extension TaggedSequence: Encodable {
    /// The input went past `maxSeqLength`: labels past `labeledCount` are "O", not predictions.
    public var truncated: Bool { labeledCount < labels.count }

    private enum CodingKeys: String, CodingKey { case tokens, labels, entities, logits, truncated }

    /// `{"tokens", "labels" (one per input character), "entities", "logits" (per real token), "truncated"}`
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(labels, forKey: .labels)
        try container.encode(entities, forKey: .entities)
        try container.encode(numberRows: logits, forKey: .logits)
        try container.encode(truncated, forKey: .truncated)
    }
}

extension MaskPrediction: Encodable {
    private enum CodingKeys: String, CodingKey { case position, candidates }
    private enum CandidateKeys: String, CodingKey { case token, score }

    /// `{"position", "candidates": [{"token", "score" (softmax probability)}]}`, most likely first;
    /// the vocabulary's logits are left out (tens of thousands of numbers).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(position, forKey: .position)
        var candidates = container.nestedUnkeyedContainer(forKey: .candidates)
        for candidate in self.candidates {
            var entry = candidates.nestedContainer(keyedBy: CandidateKeys.self)
            try entry.encode(candidate.token, forKey: .token)
            try entry.encode(number: candidate.probability, forKey: .score)
        }
    }
}

extension EncoderOutput: Encodable {
    private enum CodingKeys: String, CodingKey {
        case pooledOutput = "pooled_output"
        case sequenceOutput = "sequence_output"
    }

    /// `{"pooled_output": [H] (without a pooler, none), "sequence_output": [[H] per real token]}`
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let pooled { try container.encode(numbers: pooled, forKey: .pooledOutput) }
        try container.encode(numberRows: (0..<sequence.shape[0]).map { sequence.row($0) }, forKey: .sequenceOutput)
    }
}
