import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseHub
import GlimpseModels

/// Options that override a captioning model's generation_config.json.
struct GenerationOptions: ParsableArguments {
    @Option(help: "Beams for beam search (1 = greedy). Default: the model's generation_config.json.")
    var numBeams: Int?

    @Option(help: "Longest caption in tokens, the start token included. Default: the model's.")
    var maxLength: Int?

    @Option(help: "Longest caption in new tokens (overrides --max-length).")
    var maxNewTokens: Int?

    @Option(help: "Never repeat an n-gram of this size (0 = allow).")
    var noRepeatNgramSize: Int?

    @Option(help: "Beam search length penalty: > 0 favours longer captions.")
    var lengthPenalty: Double?

    func apply(to settings: inout GenerationConfig) throws {
        if let numBeams { settings.numBeams = numBeams }
        if let maxLength { settings.maxLength = maxLength; settings.maxNewTokens = nil }
        if let maxNewTokens { settings.maxNewTokens = maxNewTokens }
        if let noRepeatNgramSize { settings.noRepeatNgramSize = noRepeatNgramSize }
        if let lengthPenalty { settings.lengthPenalty = lengthPenalty }
        do { try settings.validate(path: "command line") } catch { throw ValidationError("\(error)") }
    }
}

/// The captioning model `--caption-model` / `--model` names, or the default.
enum CaptionModelName {
    static let defaultModel = "nlpconnect/vit-gpt2-image-captioning"

    static func resolve(_ option: String?) -> String {
        if let option, !option.isEmpty { return option }
        if let env = ProcessInfo.processInfo.environment["GLIMPSE_CAPTION_MODEL"], !env.isEmpty { return env }
        return defaultModel
    }

    static func load(_ option: String?) async throws -> (name: String, model: LoadedModel) {
        let resolved = try await ModelOptions.resolve(resolve(option))
        do { return (resolved.name, try ModelLoader.load(directory: resolved.directory)) } catch {
            throw CLIError("cannot load captioning model \(resolved.name): \(error)")
        }
    }
}

/// `glimpse caption`: a caption for each image by an image-to-text model.
struct CaptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Write a caption for each image with an image-captioning model (default nlpconnect/vit-gpt2-image-captioning).",
        discussion: "A file that fails prints its error and the others still run; the exit status is 1 if any image failed.")

    @Option(name: .long, help: "A vision-encoder-decoder model folder or Hub repo id (default $GLIMPSE_CAPTION_MODEL, else \(CaptionModelName.defaultModel)).")
    var model: String?

    @Option(name: .customLong("image"), help: "An image file to caption (repeatable).")
    var images: [String] = []

    @OptionGroup var generation: GenerationOptions

    @Option(help: "Images per encoder batch.")
    var batchSize = 8

    @Flag(help: "Decode JPEGs with shrink-on-load (faster on large photos, pixels differ slightly from the reference).")
    var fastDecode = false

    @Flag(help: "Print one JSON object per line: {\"image\", \"caption\", \"ids\"}.")
    var json = false

    func validate() throws {
        if images.isEmpty { throw ValidationError("Give at least one --image.") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1.") }
    }

    func run() async throws {
        let (name, model) = try await CaptionModelName.load(model)
        let captioner: Captioner
        do { captioner = try Captioner(model: model, fastDecode: fastDecode) } catch { throw CLIError("cannot caption with \(name): \(error)") }
        try generation.apply(to: &captioner.settings)
        var failed = false
        for (path, result) in zip(images, captioner.caption(imagePaths: images, batchSize: batchSize)) {
            switch result {
            case let .success(caption):
                emit(json ? JSONLine.object([("image", JSONLine.string(path)), ("caption", JSONLine.string(caption.text)),
                                             ("ids", JSONLine.ints(caption.ids))])
                          : "\(path)\t\(caption.text)")
            case let .failure(error):
                failed = true
                emitImageFailure(path, error, json: json)
            }
        }
        if failed { throw ExitCode(1) }
    }
}
