import Foundation
import ZenModel
import ZenTensor
import ZenText

/// A ZEN 2.0 encoder with one classifier head, whose parameters change: the forward pass with
/// dropout, the loss of the reference scripts (spec section 6) and its gradient with respect to
/// every parameter.
public struct TrainableModel: Sendable, ParameterWalkable {
    /// The config, with `num_labels` and `id2label` of the head.
    public private(set) var config: ZenConfig
    public let tokenizer: BertTokenizer
    public let ngrams: NgramDictionary
    /// `classification` or `ner`.
    public let task: ModelTask
    var encoder: ZenEncoder
    var classifier: Linear

    /// Takes the encoder of `model` and its classifier when that already predicts `classNames`
    /// (same count, and the same names if the checkpoint names them); otherwise a new classifier,
    /// normal with the config's `initializer_range`, bias zero, drawn from `seed`.
    ///
    /// `classNames[i]` names logit i. Token tasks put the padding label at 0, as the reference.
    public init(_ model: ZenModel, task: ModelTask, classNames: [String], seed: UInt64) throws {
        precondition(task == .classification || task == .ner, "TrainableModel: fine-tuning is for classification and ner, not \(task)")
        guard task == .ner || model.encoder.pooler != nil else {
            throw ModelError.missingHead(task: task.description, tensor: "pooler.dense.weight")
        }
        self.task = task
        tokenizer = model.tokenizer
        ngrams = model.ngrams
        encoder = model.encoder
        let names = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($0.offset, $0.element) })
        if let existing = model.heads.classifier, existing.outputs == classNames.count,
           model.config.id2label == nil || model.config.id2label == names {
            classifier = existing
        } else {
            classifier = Linear("classifier", inputs: model.config.hiddenSize, outputs: classNames.count)
            var random = RandomParameters(seed: seed, standardDeviation: model.config.initializerRange)
            classifier.walkParameters(&random)
        }
        config = model.config
        config.numLabels = classNames.count
        config.id2label = names
    }

    /// ε of the training loss's label smoothing (0: none, as in the reference).
    public var labelSmoothing: Float = 0

    /// Sets both dropout probabilities of the config (hidden and attention).
    public mutating func setDropout(_ probability: Double) {
        config.hiddenDropoutProb = probability
        config.attentionProbsDropoutProb = probability
    }

    /// Whether the n-gram encoder attends only to the real hits (`ngram_attention_mask`).
    public mutating func setNgramAttentionMask(_ masked: Bool) {
        config.ngramAttentionMask = masked
        encoder.config.ngramAttentionMask = masked
    }

    /// The mean cross-entropy of a batch, and its gradient added to `gradients` times `scale`
    /// (1 / the micro-batches of one step, when a batch is accumulated).
    ///
    /// Classification reads `labels` (class indices, one per input); token tasks read each
    /// input's `labelIds`, and count the tokens whose label id is not 0. With `dropoutSeed` the
    /// config's dropout is on (training mode); without, off (evaluation mode).
    public func loss(_ batch: [InputFeatures], labels: [Int]? = nil, dropoutSeed: UInt64?,
                     gradients: inout ParameterGradients, scale: Float = 1) throws -> Double {
        precondition(!batch.isEmpty, "loss of an empty batch")
        let dropout = dropoutSeed.map { DropoutStreams(seed: $0, hidden: config.hiddenDropoutProb, attention: config.attentionProbsDropoutProb) }
            ?? DropoutStreams(seed: 0, hidden: 0, attention: 0)
        try ZenModel.check(batch, config: config, vocabulary: tokenizer.vocabulary)
        let targets = try self.targets(batch, labels: labels)
        let pass = encoder(batch, training: dropout)
        let x = pass.states
        let headDropout = dropout.classifierInput
        let dx: Tensor
        let loss: Double
        switch task {
        case .classification:
            let (first, pooled) = encoder.pool(x, characters: pass.characters)!
            let dropped = headDropout.apply(pooled)
            let (value, dLogits) = crossEntropy(logits: classifier(dropped), targets: targets, labelSmoothing: labelSmoothing, gradientScale: scale)
            let dDropped = classifier.backward(dLogits, input: dropped, gradients: &gradients)!
            let dFirst = encoder.pooler!.backward(tanhBackward(headDropout.apply(dDropped), output: pooled), input: first, gradients: &gradients)!
            let width = config.hiddenSize
            dx = Tensor(shape: x.shape) { values in
                values.initialize(repeating: 0)
                dFirst.withUnsafeBufferPointer { rows in
                    for (sequence, start) in pass.characters.starts.enumerated() {
                        for i in 0..<width { values[start * width + i] = rows[sequence * width + i] }
                    }
                }
            }
            loss = value
        default:
            let dropped = headDropout.apply(x)
            let (value, dLogits) = crossEntropy(logits: classifier(dropped), targets: targets, labelSmoothing: labelSmoothing, gradientScale: scale)
            dx = headDropout.apply(classifier.backward(dLogits, input: dropped, gradients: &gradients)!)
            loss = value
        }
        encoder.backward(dx, pass.activations!, dropout: dropout, gradients: &gradients)
        return loss
    }

    /// One target per logit row: the class of each input, or each token's label id (nil for 0).
    private func targets(_ batch: [InputFeatures], labels: [Int]?) throws -> [Int?] {
        let classes = config.numLabels ?? 0
        switch task {
        case .classification:
            guard let labels, labels.count == batch.count else { throw TrainingInputError.missingLabels(task: task) }
            if let bad = labels.first(where: { !(0..<classes).contains($0) }) { throw TrainingInputError.labelOutOfRange(bad, classes: classes) }
            return labels
        default:
            return try batch.flatMap { features -> [Int?] in
                guard let ids = features.labelIds else { throw TrainingInputError.missingLabels(task: task) }
                if let bad = ids.first(where: { Int($0) >= classes }) { throw TrainingInputError.labelOutOfRange(Int(bad), classes: classes) }
                return ids.map { $0 == 0 ? nil : Int($0) }
            }
        }
    }

    public mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try encoder.walkParameters(&visitor)
        try classifier.walkParameters(&visitor)
    }

    /// An inference model over the current parameters (shared, not copied).
    public var inferenceModel: ZenModel {
        ZenModel(config: config, tokenizer: tokenizer, ngrams: ngrams, encoder: encoder, heads: Heads(classifier: classifier))
    }
}

public enum TrainingInputError: Error, Equatable, CustomStringConvertible {
    case missingLabels(task: ModelTask)
    case labelOutOfRange(Int, classes: Int)

    public var description: String {
        switch self {
        case .missingLabels(let task): return "the \(task.rawValue) loss needs a label for every input"
        case .labelOutOfRange(let label, let classes): return "label id \(label) is outside the classifier's \(classes) classes"
        }
    }
}
