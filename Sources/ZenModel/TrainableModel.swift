import Foundation
import ZenTensor
import ZenText

/// What a fine-tuned classifier head predicts.
public enum FineTuningTask: String, Sendable, CaseIterable {
    /// One label per text (or pair), from the pooled output.
    case classification
    /// One label per token: named entities, or word segmentation with B/M/E/S tags.
    case ner
}

/// A ZEN 2.0 encoder with one classifier head, whose parameters change: the forward pass with
/// dropout, the loss of the reference scripts (spec section 6) and its gradient with respect to
/// every parameter.
public struct TrainableModel: Sendable {
    /// The config, with `num_labels` and `id2label` of the head.
    public private(set) var config: ZenConfig
    public let tokenizer: BertTokenizer
    public let ngrams: NgramDictionary
    public let task: FineTuningTask
    var encoder: ZenEncoder
    var classifier: Linear

    /// Takes the encoder of `model` and its classifier when that already predicts `classNames`
    /// (same count, and the same names if the checkpoint names them); otherwise a new classifier,
    /// normal with the config's `initializer_range`, bias zero, drawn from `seed`.
    ///
    /// `classNames[i]` names logit i. Token tasks put the padding label at 0, as the reference.
    public init(_ model: ZenModel, task: FineTuningTask, classNames: [String], seed: UInt64) throws {
        guard task == .ner || model.encoder.pooler != nil else {
            throw ModelError.missingHead(task: "sequence classification", tensor: "pooler.dense.weight")
        }
        self.task = task
        tokenizer = model.tokenizer
        ngrams = model.ngrams
        encoder = model.encoder
        let names = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($0.offset, $0.element) })
        if let existing = model.heads.classifier, existing.weight.shape[0] == classNames.count,
           model.config.id2label == nil || model.config.id2label == names {
            classifier = existing
        } else {
            var generator = SplitMix64(seed: seed)
            let hidden = model.config.hiddenSize
            let weight = Tensor.normal([classNames.count, hidden], standardDeviation: Float(model.config.initializerRange), using: &generator)
            classifier = Linear(name: "classifier", weight: weight, bias: Tensor(zeros: [classNames.count]), precision: .fp32)
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

    /// The mean cross-entropy of a batch, and its gradient added to `gradients` times `scale`
    /// (1 / the micro-batches of one step, when a batch is accumulated).
    ///
    /// Classification reads `labels` (class indices, one per input); token tasks read each
    /// input's `labelIds`, and count the tokens whose label id is not 0. With `dropoutSeed` the
    /// config's dropout is on (training mode); without, off (evaluation mode).
    public func loss(_ batch: [InputFeatures], labels: [Int]? = nil, dropoutSeed: UInt64?,
                     gradients: inout ParameterGradients, scale: Float = 1) throws -> Double {
        precondition(!batch.isEmpty, "loss of an empty batch")
        let dropout = DropoutPlan(hidden: Dropout(probability: dropoutSeed == nil ? 0 : Float(config.hiddenDropoutProb), seed: dropoutSeed ?? 0),
                                  attention: Dropout(probability: dropoutSeed == nil ? 0 : Float(config.attentionProbsDropoutProb),
                                                     seed: (dropoutSeed ?? 0) ^ 0xA77E))
        try ZenModel.check(batch, config: config, vocabulary: tokenizer.vocabulary)
        let targets = try self.targets(batch, labels: labels)
        let (x, saved) = encoder.forward(batch, dropout: dropout)
        let headDropout = dropout.hidden.substream(300)
        let dx: Tensor
        let loss: Double
        switch task {
        case .classification:
            let pooler = encoder.pooler!
            let first = x.rows(saved.characters.starts.map { $0..<($0 + 1) })
            let pooled = tanh(pooler(first))
            let dropped = headDropout.apply(pooled)
            let (value, dLogits) = crossEntropy(logits: classifier(dropped), targets: targets, labelSmoothing: labelSmoothing, gradientScale: scale)
            let dDropped = classifier.backward(dLogits, input: dropped, gradients: &gradients)!
            let dFirst = pooler.backward(tanhBackward(headDropout.apply(dDropped), output: pooled), input: first, gradients: &gradients)!
            dx = Tensor(shape: x.shape) { values in
                values.initialize(repeating: 0)
                dFirst.withUnsafeBufferPointer { rows in
                    for (sequence, start) in saved.characters.starts.enumerated() {
                        for i in 0..<config.hiddenSize { values[start * config.hiddenSize + i] = rows[sequence * config.hiddenSize + i] }
                    }
                }
            }
            loss = value
        case .ner:
            let dropped = headDropout.apply(x)
            let (value, dLogits) = crossEntropy(logits: classifier(dropped), targets: targets, labelSmoothing: labelSmoothing, gradientScale: scale)
            dx = headDropout.apply(classifier.backward(dLogits, input: dropped, gradients: &gradients)!)
            loss = value
        }
        encoder.backward(dx, saved, dropout: dropout, gradients: &gradients)
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
        case .ner:
            return try batch.flatMap { features -> [Int?] in
                guard let ids = features.labelIds else { throw TrainingInputError.missingLabels(task: task) }
                if let bad = ids.first(where: { Int($0) >= classes }) { throw TrainingInputError.labelOutOfRange(Int(bad), classes: classes) }
                return ids.map { $0 == 0 ? nil : Int($0) }
            }
        }
    }

    /// Visits every parameter, under its canonical name, for the optimizer to change in place.
    public mutating func updateParameters(_ body: (String, inout Tensor) -> Void) {
        encoder.updateParameters(body)
        classifier.updateParameters(body)
    }

    /// Every parameter under the reference's own name (`bert.…`), as a checkpoint stores it.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        var copy = self
        var parameters: [(name: String, tensor: Tensor)] = []
        copy.updateParameters { name, tensor in parameters.append((WeightStore.referenceName(name), tensor)) }
        return parameters
    }

    /// An inference model over the current parameters (shared, not copied).
    public var inferenceModel: ZenModel {
        ZenModel(config: config, tokenizer: tokenizer, ngrams: ngrams, encoder: encoder, heads: Heads(classifier: classifier))
    }
}

public enum TrainingInputError: Error, Equatable, CustomStringConvertible {
    case missingLabels(task: FineTuningTask)
    case labelOutOfRange(Int, classes: Int)

    public var description: String {
        switch self {
        case .missingLabels(let task): return "the \(task.rawValue) loss needs a label for every input"
        case .labelOutOfRange(let label, let classes): return "label id \(label) is outside the classifier's \(classes) classes"
        }
    }
}
