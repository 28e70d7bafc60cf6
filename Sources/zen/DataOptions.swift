import ArgumentParser
import Foundation
import ZenModel
import ZenText
import ZenTraining

extension FineTuningTask: ExpressibleByArgument {}

/// Which fields of a classification line hold the text, its pair and its id: the same options,
/// and the same defaults, for predict, finetune and evaluate.
struct FieldOptions: ParsableArguments {
    @Option(help: "Classification: the text's field; default: text, else sentence (CLUE's name).")
    var textField: String?

    @Option(help: "Classification: the second text's field, then required on every line (e.g. sentence2, with --text-field sentence1); default: text_pair where a line has it.")
    var textPairField: String?

    @Option(help: "Classification: the id field.")
    var idField = "id"

    func classification(labelField: String = "label") -> ClassificationFields {
        ClassificationFields(text: textField, pair: textPairField, label: labelField, id: idField)
    }
}

/// How labelled data files are read: CLUE-style JSON Lines for classification, char-per-line
/// files for token tasks.
struct DataOptions: ParsableArguments {
    @OptionGroup var fields: FieldOptions

    @Option(help: "Classification: the label field (rows labelled - are skipped, as in CMNLI).")
    var labelField = "label"

    func classification(_ path: String) throws -> [ClassificationExample] {
        try Datasets.readClassification(path, fields: fields.classification(labelField: labelField))
    }

    /// The labels of a data file, in their order of first appearance.
    func labels(task: FineTuningTask, path: String) throws -> ClassLabels {
        switch task {
        case .classification: return ClassLabels.firstAppearance(task: task, try classification(path).compactMap(\.label))
        case .ner: return ClassLabels.firstAppearance(task: task, try Datasets.readTagged(path).flatMap(\.labels))
        }
    }

    /// A labelled file as model inputs, checked against `labels`.
    func examples(task: FineTuningTask, path: String, builder: FeatureBuilder, labels: ClassLabels) throws -> [TrainingExample] {
        switch task {
        case .classification: return try TrainingData.classification(try classification(path), path: path, builder: builder, labels: labels)
        case .ner: return try TrainingData.tagged(try Datasets.readTagged(path), path: path, builder: builder, labels: labels)
        }
    }
}

/// The scores `zen evaluate` prints and finetune logs: accuracy, or entity (word) precision,
/// recall and F1.
struct EvaluationScores: Encodable {
    struct Entities: Encodable {
        var scores: EntityScores

        private enum CodingKeys: String, CodingKey { case precision, recall, f1, found, gold, right }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(number: scores.precision, forKey: .precision)
            try container.encode(number: scores.recall, forKey: .recall)
            try container.encode(number: scores.f1, forKey: .f1)
            try container.encode(scores.found, forKey: .found)
            try container.encode(scores.gold, forKey: .gold)
            try container.encode(scores.right, forKey: .right)
        }
    }

    enum Result {
        case classification(ClassificationEvaluation)
        case entities(EntityEvaluation)
    }

    var result: Result

    private enum CodingKeys: String, CodingKey {
        case accuracy, correct, examples
        case perType = "per_type"
        case scheme, sentences, truncated
    }

    /// classification: `{"accuracy", "correct", "examples"}`; ner: the overall entity scores with
    /// `"per_type"`, `"scheme"`, `"sentences"` and `"truncated"`.
    func encode(to encoder: any Encoder) throws {
        switch result {
        case .classification(let evaluation):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(number: evaluation.accuracy, forKey: .accuracy)
            try container.encode(evaluation.correct, forKey: .correct)
            try container.encode(evaluation.count, forKey: .examples)
        case .entities(let evaluation):
            try Entities(scores: evaluation.overall).encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(evaluation.byType.mapValues(Entities.init), forKey: .perType)
            try container.encode(evaluation.scheme.rawValue, forKey: .scheme)
            try container.encode(evaluation.sentences, forKey: .sentences)
            try container.encode(evaluation.truncated, forKey: .truncated)
        }
    }

    /// The metric a dev set is judged by: accuracy, or entity F1.
    var metric: Double {
        switch result {
        case .classification(let evaluation): return evaluation.accuracy
        case .entities(let evaluation): return evaluation.overall.f1
        }
    }
}

/// Evaluates `model` on a labelled file: the metric, and the scores as a JSON object.
func evaluate(_ model: ZenModel, task: FineTuningTask, path: String, data: DataOptions, maxSeqLength: Int,
              weighting: NgramWeighting) throws -> (metric: Double, json: String) {
    let scores: EvaluationScores
    switch task {
    case .classification:
        scores = EvaluationScores(result: .classification(
            try Evaluation.classification(model, try data.classification(path), maxSeqLength: maxSeqLength, weighting: weighting)))
    case .ner:
        scores = EvaluationScores(result: .entities(
            try Evaluation.entities(model, try Datasets.readTagged(path), maxSeqLength: maxSeqLength, weighting: weighting)))
    }
    return (scores.metric, try JSONOutput.string(scores))
}
