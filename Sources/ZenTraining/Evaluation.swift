import Foundation
import ZenModel
import ZenTensor
import ZenText

/// The scores of a model on a labelled set, as `zen evaluate` prints them and `eval_log.jsonl`
/// keeps them; `metric` is the one that chooses the best model.
public protocol EvaluationReport: Encodable, Sendable {
    var metric: Double { get }
}

/// Accuracy of a classifier on a labelled set.
public struct ClassificationEvaluation: EvaluationReport, Equatable {
    public var correct: Int
    public var count: Int
    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
    public var metric: Double { accuracy }

    enum CodingKeys: String, CodingKey { case accuracy, correct, examples }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number: accuracy, forKey: .accuracy)
        try container.encode(correct, forKey: .correct)
        try container.encode(count, forKey: .examples)
    }
}

/// Entity-level scores of a tagger on a labelled set (spec section 6; word F1 for segmentation).
public struct EntityEvaluation: EvaluationReport, Equatable {
    public var overall: EntityScores
    public var byType: [String: EntityScores]
    public var scheme: TagScheme
    public var sentences: Int
    /// Sentences not tagged to their end: with `LongTexts.truncate` those longer than
    /// `maxSeqLength`, else those with a word of more tokens than it holds (longer sentences are
    /// tagged whole, in windows). Only their tagged first part is scored, on both sides, as the
    /// reference scores truncated sentences.
    public var truncated: Int
    public var metric: Double { overall.f1 }

    enum CodingKeys: String, CodingKey { case perType = "per_type", scheme, sentences, truncated }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try overall.encode(to: encoder)
        try container.encode(byType, forKey: .perType)
        try container.encode(scheme.rawValue, forKey: .scheme)
        try container.encode(sentences, forKey: .sentences)
        try container.encode(truncated, forKey: .truncated)
    }
}

extension EntityScores: Encodable {
    enum CodingKeys: String, CodingKey { case precision, recall, f1, found, gold, right }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number: precision, forKey: .precision)
        try container.encode(number: recall, forKey: .recall)
        try container.encode(number: f1, forKey: .f1)
        try container.encode(found, forKey: .found)
        try container.encode(gold, forKey: .gold)
        try container.encode(right, forKey: .right)
    }
}

public enum Evaluation {
    /// Predicts every example and compares the label names (or, for a model without
    /// `id2label`, the class indices written as numbers). Every example of `path` must have a
    /// label the model predicts.
    public static func classification(_ model: ZenModel, _ examples: [ClassificationExample], path: String, maxSeqLength: Int,
                                      weighting: NgramWeighting, ngramCap: NgramCap = .trained,
                                      batchSize: Int = 32) throws -> ClassificationEvaluation {
        _ = try model.requireClassifier(.classification)
        if let item = examples.firstIndex(where: { $0.label == nil }) { throw TrainingDataError.missingLabel(path: path, item: item + 1) }
        try checkLabels(examples.compactMap(\.label), of: model, path: path)
        let results = try model.classify(examples.map(\.text), pairs: examples.map(\.pair), maxSeqLength: maxSeqLength,
                                         weighting: weighting, ngramCap: ngramCap, batchSize: batchSize)
        let correct = zip(results, examples).filter { ($0.label ?? String($0.labelIndex)) == $1.label }.count
        return ClassificationEvaluation(correct: correct, count: examples.count)
    }

    /// Tags every sentence, whole (a long one in windows, unless `longTexts` is `.truncate`),
    /// and scores the entities (or words) against the gold tags, in the scheme the gold tags are
    /// written in. Every tag of `path` must be one the model predicts.
    public static func entities(_ model: ZenModel, _ sentences: [TaggedSentence], path: String, maxSeqLength: Int, weighting: NgramWeighting,
                                ngramCap: NgramCap = .trained, longTexts: LongTexts = .windows,
                                batchSize: Int = 32) throws -> EntityEvaluation {
        _ = try model.requireClassifier(.ner)
        try checkLabels(sentences.flatMap(\.labels), of: model, path: path)
        let tagged = try model.tag(sentences: sentences.map(\.chars), maxSeqLength: maxSeqLength, weighting: weighting,
                                   ngramCap: ngramCap, longTexts: longTexts, batchSize: batchSize)
        let gold = zip(sentences, tagged).map { Array($0.labels.prefix($1.labeledCount)) }
        let predicted = tagged.map { Array($0.labels.prefix($0.labeledCount)) }
        let scheme = TagScheme.detect(sentences.lazy.flatMap(\.labels))
        let (overall, byType) = EntityScores.score(gold: gold, predicted: predicted, scheme: scheme)
        return EntityEvaluation(overall: overall, byType: byType, scheme: scheme, sentences: sentences.count,
                                truncated: zip(sentences, tagged).filter { $1.labeledCount < $0.chars.count }.count)
    }

    /// Labels the model cannot predict would score as silent misses: refused, by name.
    private static func checkLabels(_ labels: [String], of model: ZenModel, path: String) throws {
        let classes = model.config.numLabels ?? 0
        let known = model.config.id2label.map { names in names.keys.sorted().map { names[$0]! } } ?? (0..<classes).map(String.init)
        let knownSet = Set(known)
        var unknown: [String] = []
        for label in labels where !knownSet.contains(label) && !unknown.contains(label) { unknown.append(label) }
        guard unknown.isEmpty else { throw TrainingDataError.labelsUnknownToModel(unknown, path: path, known: known.filter { !$0.hasPrefix("[") }) }
    }
}

/// How well a pre-trained model predicts held-out instances: the masked tokens (accuracy of
/// the top logit, mean cross-entropy and its perplexity) and the next sentence.
public struct PreTrainingEvaluation: EvaluationReport, Equatable {
    public var maskedCorrect = 0
    public var maskedCount = 0
    /// Summed over the masked tokens.
    public var maskedLoss = 0.0
    public var nextSentenceCorrect = 0
    public var instances = 0
    public var maskedLMAccuracy: Double { maskedCount == 0 ? 0 : Double(maskedCorrect) / Double(maskedCount) }
    public var perplexity: Double { maskedCount == 0 ? .nan : exp(maskedLoss / Double(maskedCount)) }
    public var nextSentenceAccuracy: Double { instances == 0 ? 0 : Double(nextSentenceCorrect) / Double(instances) }
    public var metric: Double { maskedLMAccuracy }

    enum CodingKeys: String, CodingKey {
        case maskedLMAccuracy = "mlm_accuracy", perplexity, maskedLMLoss = "mlm_loss", nextSentenceAccuracy = "nsp_accuracy",
             maskedTokens = "masked_tokens", instances
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number: maskedLMAccuracy, forKey: .maskedLMAccuracy)
        try container.encode(number: perplexity, forKey: .perplexity)
        try container.encode(number: maskedCount == 0 ? .nan : maskedLoss / Double(maskedCount), forKey: .maskedLMLoss)
        try container.encode(number: nextSentenceAccuracy, forKey: .nextSentenceAccuracy)
        try container.encode(maskedCount, forKey: .maskedTokens)
        try container.encode(instances, forKey: .instances)
    }
}

extension Evaluation {
    /// Scores `model` (a pre-training model's `inferenceModel`) on held-out instances, `batchSize`
    /// at a time.
    public static func preTraining(_ model: ZenModel, _ examples: [PreTrainingExample], batchSize: Int = 32) throws -> PreTrainingEvaluation {
        var result = PreTrainingEvaluation()
        for start in stride(from: 0, to: examples.count, by: batchSize) {
            let batch = Array(examples[start..<min(examples.count, start + batchSize)])
            for (example, output) in zip(batch, try model.encode(batch.map(\.features))) {
                for (score, gold) in zip(try maskedTokenScores(model, example, output: output), example.maskedIds) {
                    result.maskedLoss += score.logSumExp - Double(score.goldLogit)
                    if score.predicted == Int(gold) { result.maskedCorrect += 1 }
                }
                result.maskedCount += example.maskedIds.count
                if let nextSentence = try model.nextSentenceLogits(of: output), (nextSentence[1] > nextSentence[0] ? 1 : 0) == example.nextSentenceLabel {
                    result.nextSentenceCorrect += 1
                }
                result.instances += 1
            }
        }
        return result
    }

    /// At each masked position of `example`, from `output` (its encoder output): the true
    /// token's logit, the log-sum-exp of all logits (so the cross-entropy is their difference)
    /// and the token of the top logit.
    public static func maskedTokenScores(_ model: ZenModel, _ example: PreTrainingExample, output: EncoderOutput) throws -> [MaskedTokenScore] {
        let logits = try model.maskedLMLogits(at: example.maskedPositions.map { Int($0) }, of: output)
        return example.maskedIds.indices.map { row in
            var values = logits.row(row)
            let (gold, predicted) = (values[Int(example.maskedIds[row])], values.indices.max { values[$0] < values[$1] }!)
            // The loss's own log-sum-exp (its softmax's), so that held-out and training losses agree.
            let logSumExp = values.withUnsafeMutableBufferPointer { Double(softmaxInPlace($0.baseAddress!, count: $0.count)) }
            return MaskedTokenScore(goldLogit: gold, logSumExp: logSumExp, predicted: predicted)
        }
    }
}

/// What the masked-language-model head says at one masked position (`Evaluation.maskedTokenScores`).
public struct MaskedTokenScore: Sendable, Equatable {
    public var goldLogit: Float
    public var logSumExp: Double
    public var predicted: Int
}
