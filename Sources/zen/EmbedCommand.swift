import ArgumentParser
import Foundation
import ZenModel

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Write the pooled output and the per-token states of every input text.",
        discussion: #"Input lines are {"text": ..., "text_pair": ...}; output lines {"pooled_output": [H], "sequence_output": [[H], ...]} over every real token, [CLS] and [SEP] included."#
    )

    @OptionGroup var model: ModelOptions

    @OptionGroup var lines: LinesOptions

    @OptionGroup var cap: NgramCapOption

    func validate() throws { try lines.requireTokenTask(false) }

    func run() throws {
        let model = try model.load()
        let builder = try model.featureBuilder(maxSeqLength: lines.maxSeqLength, weighting: lines.weighting(for: model.config),
                                               ngramCap: cap.ngramCap)
        let inputPath = lines.input
        try lines.transformLines(parallel: false) { line in
            let input = try decodeLine(SequenceInput.self, line, path: inputPath)
            let output = try model.encode(builder.sequenceFeatures(text: input.text, pair: input.text_pair))
            var object = JSONObjectBuilder()
            if let id = input.id { object.add("id", raw: id.json) }
            object.add("pooled_output", output.pooled)
            object.add("sequence_output", (0..<output.sequence.shape[0]).map { output.sequence.row($0) })
            return object.json
        }
    }
}
