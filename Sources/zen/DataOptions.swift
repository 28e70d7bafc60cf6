import ArgumentParser
import Foundation
import ZenModel
import ZenText
import ZenTraining

extension FineTuningTask: ExpressibleByArgument {}

/// How labelled data files are read: CLUE-style JSON Lines for classification, char-per-line
/// files for token tasks.
struct DataOptions: ParsableArguments {
    @Option(help: "Classification: the text field of the JSON Lines rows.")
    var textField = "sentence"

    @Option(help: "Classification: the second text's field, for sentence pairs (e.g. sentence2; then set --text-field sentence1).")
    var textPairField: String?

    @Option(help: "Classification: the label field (rows labelled - are skipped, as in CMNLI).")
    var labelField = "label"

    @Option(help: "Classification: the id field.")
    var idField = "id"

    func classification(_ path: String) throws -> [ClassificationExample] {
        try Datasets.readClassification(path, textField: textField, pairField: textPairField, labelField: labelField, idField: idField)
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

/// Evaluates `model` on a labelled file: accuracy, or entity (word) precision, recall and F1.
func evaluate(_ model: ZenModel, task: FineTuningTask, path: String, data: DataOptions, maxSeqLength: Int,
              weighting: NgramWeighting, ngramCap: NgramCap, longTexts: LongTexts = .windows) throws -> (metric: Double, json: String) {
    var object = JSONObjectBuilder()
    switch task {
    case .classification:
        let result = try Evaluation.classification(model, try data.classification(path), maxSeqLength: maxSeqLength,
                                                   weighting: weighting, ngramCap: ngramCap)
        object.add("accuracy", raw: "\(result.accuracy)")
        object.add("correct", raw: "\(result.correct)")
        object.add("examples", raw: "\(result.count)")
        return (result.accuracy, object.json)
    case .ner:
        let result = try Evaluation.entities(model, try Datasets.readTagged(path), maxSeqLength: maxSeqLength,
                                             weighting: weighting, ngramCap: ngramCap, longTexts: longTexts)
        func scores(_ s: EntityScores) -> String {
            "{\"precision\":\(s.precision),\"recall\":\(s.recall),\"f1\":\(s.f1),\"found\":\(s.found),\"gold\":\(s.gold),\"right\":\(s.right)}"
        }
        object.add("precision", raw: "\(result.overall.precision)")
        object.add("recall", raw: "\(result.overall.recall)")
        object.add("f1", raw: "\(result.overall.f1)")
        object.add("found", raw: "\(result.overall.found)")
        object.add("gold", raw: "\(result.overall.gold)")
        object.add("right", raw: "\(result.overall.right)")
        object.add("per_type", raw: "{" + result.byType.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + scores($0.value) }
            .joined(separator: ",") + "}")
        object.add("scheme", raw: jsonString(result.scheme.rawValue))
        object.add("sentences", raw: "\(result.sentences)")
        object.add("truncated", raw: "\(result.truncated)")
        return (result.overall.f1, object.json)
    }
}
