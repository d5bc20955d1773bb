import ArgumentParser

@main
struct Glimpse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glimpse",
        abstract: "Semantic image search: CLIP embeddings computed natively, no Python at run time.",
        version: "0.1.0",
        subcommands: [IndexCommand.self, SearchCommand.self, ServeCommand.self, ExportCommand.self, ImportCommand.self,
                      EmbedCommand.self, CaptionCommand.self, EvalCommand.self, TokenizeCommand.self, ModelCommand.self])
}
