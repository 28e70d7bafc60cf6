/// What a model can be asked to do: the one task vocabulary of the library, the command line,
/// the server and fine-tuning.
public enum ModelTask: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// One label per text (or pair), from the pooled output.
    case classification
    /// One label per character: named entities, or word segmentation with B/M/E/S tags.
    case ner
    /// The likeliest tokens at each `[MASK]`, from the masked-language-model head.
    case fillMask = "fill-mask"
    /// Pooled and per-token states.
    case embed

    public var description: String {
        switch self {
        case .classification: return "sequence classification"
        case .ner: return "token classification"
        case .fillMask: return "masked language model"
        case .embed: return "embedding"
        }
    }
}
