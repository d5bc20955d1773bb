import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseModels

/// `glimpse embed`: embeddings of images and texts by any supported model, one JSON object per line.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print L2-normalised embeddings of images and texts (images need an image–text model such as CLIP or Chinese-CLIP).",
        discussion: "Images come first, then texts, each in the order given. A file that fails prints its error and the others still run; the exit status is 1 if any input failed.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("image"), help: "An image file to embed (repeatable).")
    var images: [String] = []

    @Option(name: .customLong("text"), help: "A text to embed (repeatable).")
    var texts: [String] = []

    @Option(help: "Images per vision batch.")
    var batchSize = 32

    @Flag(help: "Decode JPEGs at full size (exact reference path) instead of shrink-on-load.")
    var exactDecode = false

    @Flag(help: "Print one JSON object per line.")
    var json = false

    func validate() throws {
        if images.isEmpty && texts.isEmpty { throw ValidationError("Give at least one --image or --text.") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1.") }
    }

    func run() async throws {
        let (name, model) = try await modelOptions.load()
        var failed = false
        if !images.isEmpty {
            let embedder: Embedder
            do { embedder = try Embedder(model: model, fastDecode: !exactDecode) } catch { throw CLIError("cannot embed images with \(name): \(error)") }
            let results = embedder.embed(imagePaths: images, batchSize: batchSize)
            for (path, result) in zip(images, results) {
                switch result {
                case let .success(embedding):
                    emit(json ? JSONLine.object([("image", JSONLine.string(path)), ("embedding", JSONLine.floats(embedding))])
                              : "\(path)\t\(preview(embedding))")
                case let .failure(error):
                    failed = true
                    emitImageFailure(path, error, json: json)
                }
            }
        }
        guard texts.isEmpty || model.textEncoder != nil else { throw CLIError("\(name) has no text tower") }
        let embeddings = model.textEncoder.map { $0.embed(texts: texts) } ?? []
        for (text, embedding) in zip(texts, embeddings) {
            emit(json ? JSONLine.object([("text", JSONLine.string(text)), ("embedding", JSONLine.floats(embedding))])
                      : "\(text)\t\(preview(embedding))")
        }
        if failed { throw ExitCode(1) }
    }

    func preview(_ v: [Float]) -> String {
        v.prefix(6).map { String(format: "%+.4f", $0) }.joined(separator: " ") + " … (\(v.count) dims)"
    }
}

func emit(_ line: String) {
    print(line)
}

/// An input image that failed: `{"image", "error"}` on standard output with --json, else a line on standard error.
func emitImageFailure(_ path: String, _ error: Error, json: Bool) {
    if json {
        emit(JSONLine.object([("image", JSONLine.string(path)), ("error", JSONLine.string("\(error)"))]))
    } else {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    }
}

/// A fatal error with a message for the user (printed as "Error: …", exit status 1).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
