import ArgumentParser
import Foundation
import ZenModel
import ZenTensor
import ZenText
import ZenTraining

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a fine-tuned model on a labelled file and print the scores as JSON.",
        discussion: """
        classification: {"accuracy", "correct", "examples"}. ner: micro {"precision", "recall", "f1"} over entities \
        (BIO, BIOS or BIOES/BMES tags, read as the reference reads them; for B/M/E/S segmentation tags the entities \
        are the words), "per_type" scores; sentences longer than --max-seq-length are tagged and scored whole, in overlapping \
        windows; with --long-texts truncate, only their first part is scored, as the reference does ("truncated" counts \
        the sentences scored in part).
        """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "classification or ner (token tagging, also word segmentation).")
    var task: ModelTask

    @Option(help: "Labelled file: CLUE-style JSON Lines (classification) or char-per-line tags (ner).")
    var data: String

    @Option(help: maxSeqLengthHelp)
    var maxSeqLength: Int?

    @Option(help: "Fusion matrix weighting; by default the one the model was fine-tuned with (config.json), else frequency.")
    var weighting: NgramWeighting?

    @OptionGroup var cap: NgramCapOption

    @OptionGroup var long: LongTextsOption

    @OptionGroup var fields: DataOptions

    @Option(help: "Compute threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        try ModelTask.require(task, in: [.classification, .ner])
        try validateMaxSeqLength(maxSeqLength)
    }

    func run() throws {
        ComputeThreads.set(max(1, threads))
        let model = try model.load()
        let weighting = weighting ?? model.config.ngramWeighting ?? .frequency
        print(try JSONOutput.string(evaluate(model, task: task, path: data, data: fields,
                                             maxSeqLength: resolvedMaxSeqLength(maxSeqLength, for: model.config), weighting: weighting,
                                             ngramCap: cap.ngramCap, longTexts: long.longTexts)))
    }
}
