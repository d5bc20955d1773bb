import ArgumentParser
import Foundation
import GlimpseModels

/// `glimpse tokenize`: the token ids the CLIP text tower sees.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print CLIP token ids (with start and end tokens, truncated to the model's limit).")

    @Option(name: .long, help: "Hugging Face model folder holding tokenizer.json (or vocab.json + merges.txt).")
    var model: String

    @Option(name: .customLong("text"), parsing: .upToNextOption, help: "Texts to tokenize.")
    var texts: [String] = []

    @Flag(help: "Print one JSON object per line.")
    var json = false

    func validate() throws {
        if texts.isEmpty { throw ValidationError("Give at least one --text.") }
    }

    func run() throws {
        let tokenizer: CLIPTokenizer
        do { tokenizer = try CLIPTokenizer(directory: model) } catch { throw CLIError("cannot load tokenizer: \(error)") }
        for text in texts {
            let ids = tokenizer.encode(text)
            print(json ? JSONLine.object([("text", JSONLine.string(text)), ("ids", JSONLine.ints(ids))])
                       : "\(text)\t\(ids.map(String.init).joined(separator: " "))")
        }
    }
}
