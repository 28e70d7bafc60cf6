import ArgumentParser
import ZenModel
import ZenText

extension NgramCap: ExpressibleByArgument {}

extension LongTexts: ExpressibleByArgument {}

/// `--ngram-cap`, for every command that runs a model on texts.
struct NgramCapOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The length a text's n-grams are capped at: trained (the default) is the length the model was trained at "
            + "(max_seq_length in config.json, written by zen finetune), so its features do not change with --max-seq-length; "
            + "reference is --max-seq-length, as the reference computes it (the same where config.json has no max_seq_length).",
        valueName: "trained|reference"))
    var ngramCap: NgramCap = .trained
}

/// `--long-texts`, for the commands that tag texts.
struct LongTextsOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Token tagging of a text longer than --max-seq-length: windows (the default) tags all of it, in overlapping windows; "
            + "truncate tags the characters that fit and leaves the rest \"O\", as the reference does.",
        valueName: "windows|truncate"))
    var longTexts: LongTexts = .windows
}
