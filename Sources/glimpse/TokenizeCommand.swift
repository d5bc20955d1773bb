import ArgumentParser
import Foundation
import GlimpseModels

/// `glimpse tokenize`: the token ids a model's text tower sees.
struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids a model's text encoder sees (special tokens included, truncated to its limit).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("text"), parsing: .upToNextOption, help: "Texts to tokenize.")
    var texts: [String] = []

    @Flag(help: "Print one JSON object per line: {\"text\", \"ids\", \"tokens\", \"decoded\"}.")
    var json = false

    func validate() throws {
        if texts.isEmpty { throw ValidationError("Give at least one --text.") }
    }

    func run() async throws {
        let (name, model) = try await modelOptions.load()
        guard let encoder = model.textEncoder, let tokenizer = encoder.tokenizer else { throw CLIError("\(name) has no text tower") }
        for text in texts {
            let ids = encoder.tokenize(text)
            let tokens = ids.map { tokenizer.token(of: $0) ?? "?" }
            print(json ? JSONLine.object([("text", JSONLine.string(text)), ("ids", JSONLine.ints(ids)),
                                          ("tokens", "[" + tokens.map(JSONLine.string).joined(separator: ", ") + "]"),
                                          ("decoded", JSONLine.string(tokenizer.decode(ids)))])
                       : "\(text)\t\(ids.map(String.init).joined(separator: " "))")
        }
    }
}
