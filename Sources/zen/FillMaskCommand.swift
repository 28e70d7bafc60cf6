import ArgumentParser
import Foundation
import ZenModel

struct FillMaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-mask",
        abstract: "Show the most likely tokens at each [MASK] of a text."
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "Candidates to show per [MASK].")
    var topK: Int = 5

    @Option(help: maxSeqLengthHelp)
    var maxSeqLength: Int?

    @OptionGroup var cap: NgramCapOption

    @Argument(help: "The text, with one or more [MASK] (each literal [MASK] is one, wherever it stands: 我今天很[MASK]，).")
    var text: String

    func validate() throws { try validateMaxSeqLength(maxSeqLength) }

    func run() throws {
        let model = try model.load()
        let maxSeqLength = resolvedMaxSeqLength(maxSeqLength, for: model.config)
        let result = try model.fillMask(text, topK: topK, maxSeqLength: maxSeqLength, ngramCap: cap.ngramCap)
        if result.masks.isEmpty {
            throw CLIError(ModelError.noMaskToken(maxSeqLength: maxSeqLength).description)
        }
        for (index, mask) in result.masks.enumerated() {
            print("[MASK] \(index + 1):")
            for candidate in mask.candidates {
                print("  " + candidate.token.padding(toLength: 12) + String(format: "%.4f", candidate.probability))
            }
        }
    }
}
