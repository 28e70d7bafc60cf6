import Foundation
import ZenModel
import ZenText

/// The labels a classifier head predicts, in order.
public struct ClassLabels: Sendable, Equatable {
    public let task: ModelTask
    /// Classification: the classes. Token tasks: the tags of the data (`B-PER`, …, or `B`/`M`/`E`/`S`).
    public let names: [String]

    public init(task: ModelTask, names: [String]) {
        self.task = task
        self.names = names
    }

    /// The labels of a training set in their order of first appearance (spec section 6).
    public static func firstAppearance(task: ModelTask, _ labels: some Sequence<String>) -> ClassLabels {
        var seen = Set<String>()
        return ClassLabels(task: task, names: labels.filter { seen.insert($0).inserted })
    }

    /// Token tasks' label ids: 1 up, then `[CLS]` and `[SEP]` (0 is padding).
    public var tagSet: LabelSet { LabelSet(names) }

    /// The name of each logit: the classes, or for token tasks `[PAD]` then the tag set, as the
    /// reference's token classifier has it.
    public var classNames: [String] {
        task == .ner ? ["[PAD]"] + tagSet.names : names
    }

    /// The class index of a classification label.
    func index(of label: String) -> Int? { names.firstIndex(of: label) }
}

/// One input of a training or evaluation set: its features, and for classification its class.
public struct TrainingExample: Sendable {
    public var features: InputFeatures
    /// The class index; nil for token tasks, whose labels are in `features.labelIds`.
    public var label: Int?
}

public enum TrainingDataError: Error, Equatable, CustomStringConvertible {
    case unknownLabel(String, path: String, item: Int, known: [String])
    case missingLabel(path: String, item: Int)
    case labelsUnknownToModel([String], path: String, known: [String])

    public var description: String {
        switch self {
        case .unknownLabel(let label, let path, let item, let known):
            return "\(path) item \(item): label \"\(label)\" is not among the training labels (\(known.joined(separator: ", ")))"
        case .missingLabel(let path, let item):
            return "\(path) item \(item) has no label (evaluation and training need one on every item; name its field with --label-field)"
        case .labelsUnknownToModel(let labels, let path, let known):
            return "\(path): the model does not predict the label\(labels.count == 1 ? "" : "s") \(labels.map { "\"\($0)\"" }.joined(separator: ", ")) "
                + "(its labels: \(known.joined(separator: ", "))); evaluate on data labelled as the model was trained"
        }
    }
}

/// Turns data sets into model inputs.
public enum TrainingData {
    /// Classification examples with their class indices; every label must be one of `labels`.
    public static func classification(_ examples: [ClassificationExample], path: String, builder: FeatureBuilder,
                                      labels: ClassLabels) throws -> [TrainingExample] {
        try examples.enumerated().map { item, example in
            guard let label = example.label else { throw TrainingDataError.missingLabel(path: path, item: item + 1) }
            guard let index = labels.index(of: label) else {
                throw TrainingDataError.unknownLabel(label, path: path, item: item + 1, known: labels.names)
            }
            return TrainingExample(features: try builder.sequenceFeatures(text: example.text, pair: example.pair), label: index)
        }
    }

    /// Tagged sentences with their label ids; every tag must be one of `labels`.
    public static func tagged(_ sentences: [TaggedSentence], path: String, builder: FeatureBuilder,
                              labels: ClassLabels) throws -> [TrainingExample] {
        let tagSet = labels.tagSet
        return try sentences.enumerated().map { item, sentence in
            do {
                return TrainingExample(features: try builder.tokenFeatures(words: sentence.chars, labels: sentence.labels, labelSet: tagSet),
                                       label: nil)
            } catch TextError.unknownLabel(let label, _) {
                throw TrainingDataError.unknownLabel(label, path: path, item: item + 1, known: labels.names)
            }
        }
    }
}
