import ArgumentParser

@main
struct Zen: AsyncParsableCommand {
    /// The release of zen-swift, which `zen --version` prints: the one place it is written.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "zen",
        abstract: "ZEN 2.0 (Chinese BERT enhanced by an n-gram encoder), natively.",
        version: version,
        subcommands: [FeaturesCommand.self, TokenizeCommand.self, EmbedCommand.self, PredictCommand.self,
                      FillMaskCommand.self, InitCommand.self, LexiconCommand.self, PregenerateCommand.self, PretrainCommand.self,
                      FineTuneCommand.self, EvaluateCommand.self, ConvertCommand.self,
                      BenchCommand.self, BenchTextCommand.self, ServeCommand.self]
    )
}
