import Foundation
import ZenModel
import ZenText

/// Accuracy of a classifier on a labelled set.
public struct ClassificationEvaluation: Sendable, Equatable {
    public var correct: Int
    public var count: Int
    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
}

/// Entity-level scores of a tagger on a labelled set (spec section 6; word F1 for segmentation).
public struct EntityEvaluation: Sendable, Equatable {
    public var overall: EntityScores
    public var byType: [String: EntityScores]
    public var scheme: TagScheme
    public var sentences: Int
    /// Sentences not tagged to their end: with `LongTexts.truncate` those longer than
    /// `maxSeqLength`, else those with a word of more tokens than it holds (longer sentences are
    /// tagged whole, in windows). Only their tagged first part is scored, on both sides, as the
    /// reference scores truncated sentences.
    public var truncated: Int
}

public enum Evaluation {
    /// Predicts every example and compares the label names (or, for a model without
    /// `id2label`, the class indices written as numbers).
    public static func classification(_ model: ZenModel, _ examples: [ClassificationExample], maxSeqLength: Int,
                                      weighting: NgramWeighting, ngramCap: NgramCap = .trained,
                                      batchSize: Int = 32) throws -> ClassificationEvaluation {
        let results = try model.classify(examples.map(\.text), pairs: examples.map(\.pair), maxSeqLength: maxSeqLength,
                                         weighting: weighting, ngramCap: ngramCap, batchSize: batchSize)
        let correct = zip(results, examples).filter { ($0.label ?? String($0.labelIndex)) == $1.label }.count
        return ClassificationEvaluation(correct: correct, count: examples.count)
    }

    /// Tags every sentence, whole (a long one in windows, unless `longTexts` is `.truncate`),
    /// and scores the entities (or words) against the gold tags, in the scheme the gold tags are
    /// written in.
    public static func entities(_ model: ZenModel, _ sentences: [TaggedSentence], maxSeqLength: Int, weighting: NgramWeighting,
                                ngramCap: NgramCap = .trained, longTexts: LongTexts = .windows,
                                batchSize: Int = 32) throws -> EntityEvaluation {
        let tagged = try model.tag(sentences: sentences.map(\.chars), maxSeqLength: maxSeqLength, weighting: weighting,
                                   ngramCap: ngramCap, longTexts: longTexts, batchSize: batchSize)
        let gold = zip(sentences, tagged).map { Array($0.labels.prefix($1.labeledCount)) }
        let predicted = tagged.map { Array($0.labels.prefix($0.labeledCount)) }
        let scheme = TagScheme.detect(sentences.lazy.flatMap(\.labels))
        let (overall, byType) = EntityScores.score(gold: gold, predicted: predicted, scheme: scheme)
        return EntityEvaluation(overall: overall, byType: byType, scheme: scheme, sentences: sentences.count,
                                truncated: zip(sentences, tagged).filter { $1.labeledCount < $0.chars.count }.count)
    }
}
