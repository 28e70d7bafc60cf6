import Foundation
import ZenModel
import ZenTensor
import ZenText

/// A pre-training instance as the network takes it: its features and its targets.
public struct PreTrainingExample: Sendable {
    public var features: InputFeatures
    public var maskedPositions: [Int32]
    public var maskedIds: [Int32]
    /// 1 when B is a random text, 0 when B follows A.
    public var nextSentenceLabel: Int

    public init(_ instance: PreTrainingInstance, ngramSlots: Int) {
        features = instance.features(ngramSlots: ngramSlots)
        (maskedPositions, maskedIds, nextSentenceLabel) = (instance.maskedPositions, instance.maskedIds, Int(instance.nextSentenceLabel))
    }
}

/// A batch's two losses: the masked-language-model cross-entropy (mean over every masked
/// position) and the next-sentence cross-entropy (mean over the sequences).
public struct PreTrainingLoss: Sendable, Equatable {
    public var maskedLM: Double
    public var nextSentence: Double
    public var total: Double { maskedLM + nextSentence }

    public init(maskedLM: Double = 0, nextSentence: Double = 0) {
        (self.maskedLM, self.nextSentence) = (maskedLM, nextSentence)
    }

    static func + (lhs: Self, rhs: Self) -> Self { Self(maskedLM: lhs.maskedLM + rhs.maskedLM, nextSentence: lhs.nextSentence + rhs.nextSentence) }
}

/// `ZenForPreTraining`: the encoder with the masked-language-model head, whose decoder is the
/// character embedding table (tied, as the reference ties it), and the next-sentence head over
/// the pooled output; the n-gram encoder as the reference pre-trains it (`ngram_attention_mask`).
public struct PreTrainingModel: Sendable, ParameterWalkable {
    public private(set) var config: ZenConfig
    public let tokenizer: BertTokenizer
    public let ngrams: NgramDictionary
    var encoder: ZenEncoder
    var maskedLM: MaskedLMHead
    var nextSentence: Linear

    /// Takes `model` whole; the heads (and the pooler) it lacks are new, drawn from `seed` as BERT
    /// initializes them. The decoder is always the character embedding table: a checkpoint's own
    /// copy of it (what torch saves of a tied weight) is not kept apart.
    public init(_ model: ZenModel, seed: UInt64) {
        var config = model.config
        config.ngramAttentionMask = true
        // What a fine-tuned source says about its classifier and its inputs is not this model's.
        (config.numLabels, config.id2label, config.ngramWeighting, config.maxSeqLength) = (nil, nil, nil, nil)
        (self.config, tokenizer, ngrams) = (config, model.tokenizer, model.ngrams)
        var random = RandomParameters(seed: seed, standardDeviation: config.initializerRange)
        encoder = model.encoder
        encoder.config.ngramAttentionMask = true
        if encoder.pooler == nil {
            var pooler = Linear("pooler.dense", inputs: config.hiddenSize, outputs: config.hiddenSize)
            pooler.walkParameters(&random)
            encoder.pooler = pooler
        }
        if let head = model.heads.maskedLM {
            maskedLM = head.tied ? head : MaskedLMHead(tying: head)
        } else {
            maskedLM = MaskedLMHead(config: config, tied: true)
            maskedLM.walkParameters(&random)
        }
        if let head = model.heads.nextSentence {
            nextSentence = head
        } else {
            nextSentence = Linear("cls.seq_relationship", inputs: config.hiddenSize, outputs: 2)
            nextSentence.walkParameters(&random)
        }
        tieDecoder()
    }

    /// Sets both dropout probabilities of the config (hidden and attention).
    public mutating func setDropout(_ probability: Double) {
        config.hiddenDropoutProb = probability
        config.attentionProbsDropoutProb = probability
    }

    /// The decoder reads the embedding table as it is now (after an optimizer step, say).
    private mutating func tieDecoder() {
        maskedLM.decoder.use(weight: encoder.embeddings.table, precision: .fp32)
    }

    public mutating func walkParameters<V: ParameterVisitor>(_ visitor: inout V) throws(V.Failure) {
        try encoder.walkParameters(&visitor)
        try maskedLM.walkParameters(&visitor)
        try nextSentence.walkParameters(&visitor)
        tieDecoder()
    }

    /// The losses of `batch` and their gradient added to `gradients`. With `share`, the batch is
    /// a micro-batch of a larger one with that many masked positions and sequences: the losses
    /// and gradients are this part's share of the larger batch's means, so the parts add up.
    /// With `dropoutSeed` the config's dropout is on (training mode); without, off.
    public func loss(_ batch: [PreTrainingExample], dropoutSeed: UInt64?, gradients: inout ParameterGradients,
                     share: (masked: Int, sequences: Int)? = nil) throws -> PreTrainingLoss {
        precondition(!batch.isEmpty, "loss of an empty batch")
        let dropout = DropoutStreams(seed: dropoutSeed ?? 0, hidden: dropoutSeed == nil ? 0 : config.hiddenDropoutProb,
                                     attention: dropoutSeed == nil ? 0 : config.attentionProbsDropoutProb)
        let features = batch.map(\.features)
        try ZenModel.check(features, config: config, vocabulary: tokenizer.vocabulary)
        let pass = encoder(features, training: dropout)
        let x = pass.states
        let width = config.hiddenSize
        var dx = Tensor(zeros: x.shape)
        var loss = PreTrainingLoss()

        // The masked positions' rows of the sequence output, through the MLM head.
        let maskedRows = zip(pass.characters.starts, batch).flatMap { start, example in example.maskedPositions.map { start + Int($0) } }
        if !maskedRows.isEmpty {
            let (logits, saved) = maskedLM(x.rows(maskedRows.map { $0..<($0 + 1) }), training: true)
            let part = Float(maskedRows.count) / Float(share?.masked ?? maskedRows.count)
            let (value, dLogits) = crossEntropy(logits: logits, targets: batch.flatMap { $0.maskedIds.map { Int($0) } }, gradientScale: part)
            loss.maskedLM = value * Double(part)
            let dRows = maskedLM.backward(dLogits, saved!, tiedTo: encoder.embeddings, gradients: &gradients)
            dx.addRows(dRows, at: maskedRows, width: width)
        }

        // The next-sentence head over the pooled output (no dropout there, as in the reference).
        let (first, pooled) = encoder.pool(x, characters: pass.characters)!
        let part = Float(batch.count) / Float(share?.sequences ?? batch.count)
        let (value, dLogits) = crossEntropy(logits: nextSentence(pooled), targets: batch.map(\.nextSentenceLabel), gradientScale: part)
        loss.nextSentence = value * Double(part)
        let dPooled = nextSentence.backward(dLogits, input: pooled, gradients: &gradients)!
        let dFirst = encoder.pooler!.backward(tanhBackward(dPooled, output: pooled), input: first, gradients: &gradients)!
        dx.addRows(dFirst, at: pass.characters.starts, width: width)

        encoder.backward(dx, pass.activations!, dropout: dropout, gradients: &gradients)
        return loss
    }

    /// An inference model over the current parameters (shared, not copied): `zen fill-mask`'s.
    public var inferenceModel: ZenModel {
        ZenModel(config: config, tokenizer: tokenizer, ngrams: ngrams, encoder: encoder,
                 heads: Heads(maskedLM: maskedLM, nextSentence: nextSentence))
    }
}

extension Tensor {
    /// Adds row i of `rows` to row `targets[i]` of this tensor.
    mutating func addRows(_ rows: Tensor, at targets: [Int], width: Int) {
        withUnsafeMutableBufferPointer { values in
            rows.withUnsafeBufferPointer { rows in
                for (index, target) in targets.enumerated() {
                    for i in 0..<width { values[target * width + i] += rows[index * width + i] }
                }
            }
        }
    }
}
