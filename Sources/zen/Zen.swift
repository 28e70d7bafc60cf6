import ArgumentParser

@main
struct Zen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zen",
        abstract: "ZEN 2.0 (Chinese BERT enhanced by an n-gram encoder), natively.",
        subcommands: [FeaturesCommand.self, TokenizeCommand.self, EmbedCommand.self, PredictCommand.self,
                      FillMaskCommand.self, InitCommand.self, FineTuneCommand.self, EvaluateCommand.self, ConvertCommand.self,
                      BenchCommand.self, BenchTextCommand.self, ServeCommand.self]
    )
}
