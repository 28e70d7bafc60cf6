import ArgumentParser
import Foundation
import ZenModel
import ZenText
import ZenTraining


/// Task names as the command line takes them; `mlm` is `fill-mask`'s older name.
extension ModelTask: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument == "mlm" ? ModelTask.fillMask.rawValue : argument)
    }

    /// Refuses a task the command does not run.
    static func require(_ task: ModelTask, in allowed: [ModelTask]) throws {
        guard allowed.contains(task) else {
            throw ValidationError("--task \(task.rawValue) is not one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

extension InputLayout: ExpressibleByArgument {}

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
    func labels(task: ModelTask, path: String) throws -> ClassLabels {
        task == .classification ? ClassLabels.firstAppearance(task: task, try classification(path).compactMap(\.label))
            : ClassLabels.firstAppearance(task: task, try Datasets.readTagged(path).flatMap(\.labels))
    }

    /// A labelled file as model inputs, checked against `labels`.
    func examples(task: ModelTask, path: String, builder: FeatureBuilder, labels: ClassLabels) throws -> [TrainingExample] {
        task == .classification ? try TrainingData.classification(try classification(path), path: path, builder: builder, labels: labels)
            : try TrainingData.tagged(try Datasets.readTagged(path), path: path, builder: builder, labels: labels)
    }
}

/// Evaluates `model` on a labelled file: accuracy, or entity (word) precision, recall and F1.
func evaluate(_ model: ZenModel, task: ModelTask, path: String, data: DataOptions, maxSeqLength: Int,
              weighting: NgramWeighting, ngramCap: NgramCap, longTexts: LongTexts = .windows) throws -> any EvaluationReport {
    switch task {
    case .classification:
        return try Evaluation.classification(model, try data.classification(path), path: path, maxSeqLength: maxSeqLength,
                                             weighting: weighting, ngramCap: ngramCap)
    default:
        return try Evaluation.entities(model, try Datasets.readTagged(path), path: path, maxSeqLength: maxSeqLength,
                                       weighting: weighting, ngramCap: ngramCap, longTexts: longTexts)
    }
}
