import ZenModel
import ZenText

/// A checkpoint the server answers for, under the name requests use, with the feature builder
/// its texts go through.
public final class ServedModel: Sendable {
    public let name: String
    public let model: ZenModel
    let featureBuilder: FeatureBuilder
    /// How NER treats a text longer than `maxSeqLength`.
    let longTexts: LongTexts

    /// `weighting` nil: the one the model was fine-tuned with (`ngram_weighting`), else frequency.
    public init(name: String, model: ZenModel, maxSeqLength: Int, weighting: NgramWeighting? = nil, ngramCap: NgramCap = .trained,
                longTexts: LongTexts = .windows) throws {
        self.name = name
        self.model = model
        self.longTexts = longTexts
        featureBuilder = try model.featureBuilder(maxSeqLength: maxSeqLength, weighting: weighting ?? model.config.ngramWeighting ?? .frequency,
                                                  ngramCap: ngramCap)
    }

    public var tasks: [ModelTask] { model.servedTasks }

    /// The class names in index order, when the checkpoint has them.
    var labels: [String]? {
        model.config.id2label.map { names in names.keys.sorted().map { names[$0]! } }
    }
}

/// `GET /v1/models`
struct ModelList: Encodable {
    struct Entry: Encodable {
        var name: String
        var tasks: [ModelTask]
        var labels: [String]?
        var config: Summary
    }

    struct Summary: Encodable {
        var hidden_size: Int
        var num_hidden_layers: Int
        var num_hidden_word_layers: Int
        var num_attention_heads: Int
        var intermediate_size: Int
        var vocab_size: Int
        var word_size: Int
        var max_ngrams: Int
        var max_seq_length: Int
        var ngram_weighting: String
        var precision: String
    }

    var models: [Entry]

    init(_ models: [ServedModel]) {
        self.models = models.map { served in
            let config = served.model.config
            return Entry(name: served.name, tasks: served.tasks, labels: served.labels, config: Summary(
                hidden_size: config.hiddenSize, num_hidden_layers: config.numHiddenLayers,
                num_hidden_word_layers: config.numHiddenWordLayers, num_attention_heads: config.numAttentionHeads,
                intermediate_size: config.intermediateSize, vocab_size: config.vocabSize, word_size: config.wordSize,
                max_ngrams: config.maxNgrams, max_seq_length: served.featureBuilder.maxSeqLength,
                ngram_weighting: served.featureBuilder.weighting.rawValue, precision: served.model.precision.rawValue))
        }
    }
}
