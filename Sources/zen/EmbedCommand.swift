import ArgumentParser
import Foundation
import ZenModel

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Write the pooled output and the per-token states of every input text.",
        discussion: #"Input lines are {"text": ..., "text_pair": ...} (or, with --format text, every non-blank line is one text); output lines {"pooled_output": [H], "sequence_output": [[H], ...]} over every real token, [CLS] and [SEP] included."#
    )

    @OptionGroup var model: ModelOptions

    @OptionGroup var lines: LinesOptions

    @OptionGroup var cap: NgramCapOption

    @OptionGroup var batch: BatchOption

    func validate() throws { try lines.requireTokenTask(false) }

    func run() throws {
        let model = try model.load()
        let builder = try model.featureBuilder(maxSeqLength: lines.maxSeqLength(for: model.config), weighting: lines.weighting(for: model.config),
                                               ngramCap: cap.ngramCap)
        try lines.transformBatches("embed", batchSize: batch.batchSize, decode: { line in
            let input = try line.decode(SequenceInput.self)
            return (input.id, try builder.sequenceFeatures(text: input.text, pair: input.text_pair))
        }, length: { $0.1.inputIds.count }) { inputs in
            zip(inputs, try model.encode(inputs.map(\.1))).map { OutputLine(id: $0.0, result: $1) }
        }
    }
}
