import Foundation
import ZenTensor
import ZenText

/// Problems of a request the loaded model cannot serve.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case tokenOutsideVocabulary(token: String, id: Int32, vocabSize: Int)
    case ngramOutsideTable(id: Int32, wordSize: Int)
    case missingHead(task: String, tensor: String)
    case wrongHead(task: ModelTask, trainedFor: ModelTask)
    case noMaskToken(maxSeqLength: Int)

    public var description: String {
        switch self {
        case .tokenOutsideVocabulary(let token, let id, let vocabSize):
            return "token \(token) (id \(id)) is outside the model's vocabulary (vocab_size \(vocabSize))"
        case .ngramOutsideTable(let id, let wordSize):
            return "n-gram id \(id) is outside the model's n-gram table (word_size \(wordSize)): ngram.txt does not belong to this checkpoint"
        case .missingHead(let task, let tensor):
            return "the checkpoint has no \(task) head (no tensor \(tensor)); use a checkpoint fine-tuned for it"
        case .wrongHead(let task, let trainedFor):
            return "the checkpoint's classifier was trained for \(trainedFor); it cannot serve \(task) "
                + "(a token classifier's id2label in config.json has the [CLS] label; a classifier without it is a sequence classifier)"
        case .noMaskToken(let maxSeqLength):
            return "the text has no [MASK] within max_seq_length \(maxSeqLength) tokens: write [MASK] where a token is to be "
                + "predicted (\"我今天很[MASK]。\"), or raise max_seq_length when the [MASK] is further on"
        }
    }
}

/// What the encoder computes for one input.
public struct EncoderOutput: Sendable {
    /// `[T, H]`: the character states after the last layer and its n-gram fusion.
    public var sequence: Tensor
    /// `[H]`: `tanh(W_p · X[0] + b_p)`; nil for a checkpoint without a pooler.
    public var pooled: [Float]?
    /// `[T, H]` after each character layer (with its fusion), when asked for.
    public var layers: [Tensor]
}

/// The length at which a text's n-grams are capped. The reference keeps the first
/// `ceil(tokens / L · 128)` n-grams of a text at `max_seq_length` L, so the same text is fed
/// other n-grams at another length, and a model used at another length than it was trained at
/// silently loses quality.
public enum NgramCap: String, Sendable, CaseIterable, Codable {
    /// L is the length the model was trained at (`max_seq_length` in its config), whatever
    /// length it runs at; the requested length when the config does not say (any checkpoint not
    /// fine-tuned by `zen finetune`), which is the reference.
    case trained
    /// L is the requested length, as the reference computes it.
    case reference
}

/// A ZEN 2.0 checkpoint directory, loaded once: `config.json`, `vocab.txt`, `ngram.txt` and the
/// weights (`model.safetensors`, else `pytorch_model.bin`). Immutable and safe to share.
public final class ZenModel: Sendable {
    public let config: ZenConfig
    public let tokenizer: BertTokenizer
    public let ngrams: NgramDictionary
    package let encoder: ZenEncoder
    package let heads: Heads

    public let precision: Precision

    public init(directory: String, precision: Precision = .fp32) throws {
        config = try ZenConfig(contentsOf: directory + "/config.json")
        tokenizer = try BertTokenizer(vocabularyAt: directory + "/vocab.txt")
        ngrams = try NgramDictionary(contentsOf: directory + "/ngram.txt", tokenizer: tokenizer)
        self.precision = precision
        var store = try WeightStore(directory: directory)
        store.precision = precision
        (encoder, heads) = try Self.network(config, weights: store, configPath: directory + "/config.json")
    }

    /// The network `config` describes, its parameters walked in from `weights`, which must be
    /// the config's (checked first, since the config sizes the network).
    package static func network(_ config: ZenConfig, weights: WeightStore, configPath: String)
        throws(CheckpointError) -> (ZenEncoder, Heads) {
        var store = weights
        try store.check(config, configPath: configPath)
        var encoder = ZenEncoder(config: config, pooler: store.contains("pooler.dense.weight"))
        try encoder.walkParameters(&store)
        var heads = Heads(store, config: config)
        try heads.walkParameters(&store)
        if let head = heads.maskedLM, head.tied { heads.maskedLM?.decoder.use(weight: encoder.embeddings.floatTable, precision: store.precision) }
        return (encoder, heads)
    }

    package init(config: ZenConfig, tokenizer: BertTokenizer, ngrams: NgramDictionary, encoder: ZenEncoder, heads: Heads) {
        (self.config, self.tokenizer, self.ngrams, self.encoder, self.heads) = (config, tokenizer, ngrams, encoder, heads)
        precision = .fp32
    }

    public var vocabulary: Vocabulary { tokenizer.vocabulary }

    /// The features this model is fed at `maxSeqLength`. With `ngramCap` `.trained`, a model
    /// that knows its training length (`max_seq_length` in its config) keeps the n-grams it was
    /// trained with whatever length it runs at.
    public func featureBuilder(maxSeqLength: Int, weighting: NgramWeighting = .frequency,
                               ngramCap: NgramCap = .trained) throws -> FeatureBuilder {
        try FeatureBuilder(tokenizer: tokenizer, ngrams: ngrams, maxSeqLength: maxSeqLength, weighting: weighting,
                           ngramSlots: config.maxNgrams, ngramCapLength: ngramCap == .trained ? config.maxSeqLength : nil)
    }

    /// Runs the encoder on one input's features.
    public func encode(_ features: InputFeatures, keepLayers: Bool = false) throws -> EncoderOutput {
        try encode([features], keepLayers: keepLayers)[0]
    }

    /// Runs the encoder on a batch: each input at its real length, the batch's projections as
    /// single GEMMs. Inputs of any lengths may be mixed.
    public func encode(_ batch: [InputFeatures], keepLayers: Bool = false) throws -> [EncoderOutput] {
        guard !batch.isEmpty else { return [] }
        try Self.check(batch, config: config, vocabulary: vocabulary)
        let pass = encoder(batch, keepLayers: keepLayers)
        let pooled = encoder.pool(pass.states, characters: pass.characters)?.output
        return batch.indices.map { sequence in
            let rows = pass.characters.rows(sequence)
            return EncoderOutput(sequence: pass.states.rows(rows), pooled: pooled?.row(sequence), layers: pass.layers.map { $0.rows(rows) })
        }
    }

    /// Every id of the inputs is inside the model's tables.
    package static func check(_ batch: [InputFeatures], config: ZenConfig, vocabulary: Vocabulary) throws(ModelError) {
        for features in batch {
            for id in features.inputIds where Int(id) >= config.vocabSize {
                throw .tokenOutsideVocabulary(token: vocabulary.token(of: id), id: id, vocabSize: config.vocabSize)
            }
            for ngram in features.ngrams where Int(ngram.id) >= config.wordSize {
                throw .ngramOutsideTable(id: ngram.id, wordSize: config.wordSize)
            }
        }
    }

    /// The classifier, which must serve `task`: a sequence classifier also needs the pooler.
    package func requireClassifier(_ task: ModelTask) throws(ModelError) -> Linear {
        guard let classifier = heads.classifier else { throw .missingHead(task: task.description, tensor: "classifier.weight") }
        let trained = classifierTask ?? task
        guard trained == task else { throw .wrongHead(task: task, trainedFor: trained) }
        if task == .classification, encoder.pooler == nil { throw .missingHead(task: task.description, tensor: "pooler.dense.weight") }
        return classifier
    }

    /// What the classifier serves: token classification (`ner`) when its `id2label` has the
    /// `[CLS]` label that the token classifiers of the reference and of `zen finetune` carry,
    /// else sequence classification; nil without a classifier. A classifier without label names
    /// is a sequence classifier, as `num_labels` alone configures everywhere: entities cannot be
    /// read without tag names.
    public var classifierTask: ModelTask? {
        guard heads.classifier != nil else { return nil }
        return config.id2label?.values.contains("[CLS]") == true ? .ner : .classification
    }

    /// The name of class `index`: `id2label` when the config has it.
    public func labelName(_ index: Int) -> String? { config.id2label?[index] }
}

extension ZenModel {
    /// Floating-point operations of one encoder pass over sequences of these real lengths (each
    /// multiply-add counts 2): the projections, both attention terms, the n-gram layers over all
    /// slots, the fusion and the pooler. Element-wise work is left out.
    public func forwardFLOPs(lengths: [Int], ngramSlots: Int = NgramDictionary.slotCount) -> Double {
        let (h, i) = (Double(config.hiddenSize), Double(config.intermediateSize))
        func layer(_ t: Double) -> Double {
            let projections = 2 * t * h * h * 4 + 2 * t * h * i * 2
            let attention = 2 * t * t * h + 2 * t * (2 * t - 1) * h + 2 * t * t * h
            return projections + attention
        }
        let slots = Double(ngramSlots)
        return lengths.reduce(0) { total, length in
            let t = Double(length)
            return total + Double(config.numHiddenLayers) * (layer(t) + 2 * t * slots * h)
                + Double(config.numHiddenWordLayers) * layer(slots) + 2 * h * h
        }
    }
}
