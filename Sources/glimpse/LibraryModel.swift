import Foundation
import GlimpseEngine
import GlimpseModels
import GlimpseStore

/// A library opened with the model that built it (or the one --model names, which must be the same), and the text
/// model queries go through when --text-model names one.
struct OpenedLibrary {
    let library: Library
    let embedder: Embedder
    let modelName: String
    let textModelName: String?

    /// Opens `directory` (creating it when `create`), resolves the library's own model unless --model or
    /// $GLIMPSE_MODEL names one, loads it and checks it against the library; then loads and checks the text model.
    static func open(_ directory: String, create: Bool, modelOptions: ModelOptions, textModel: String? = nil) async throws -> OpenedLibrary {
        let library: Library
        do { library = try Library(directory: directory, create: create) } catch { throw CLIError("\(error)") }
        var options = modelOptions
        if options.model == nil, ProcessInfo.processInfo.environment["GLIMPSE_MODEL"] == nil, let name = try library.modelName {
            options.model = name
        }
        let (name, model) = try await options.load()
        var text: LoadedModel?
        if let textModel {
            let resolved = try await ModelOptions.resolve(textModel)
            do { text = try ModelLoader.load(directory: resolved.directory, precision: options.precision) } catch {
                throw CLIError("cannot load text model \(textModel): \(error)")
            }
            guard let encoder = text?.textEncoder, let image = model.imageEncoder else {
                throw CLIError("\(textModel) has no text tower, or \(name) no image tower")
            }
            do {
                try ModelPairing.check(textModel: textModel, textDimension: encoder.textEmbeddingDimension,
                                       imageModel: name, imageDimension: image.imageEmbeddingDimension)
            } catch { throw CLIError("\(error)") }
        }
        let embedder: Embedder
        do { embedder = try Embedder(model: model, textModel: text) } catch { throw CLIError("cannot load model: \(error)") }
        do {
            try library.bindModel(name: name, fingerprint: try ModelFingerprint.of(directory: model.directory),
                                  dimension: embedder.embeddingDim)
        } catch { throw CLIError("\(error)") }
        return OpenedLibrary(library: library, embedder: embedder, modelName: name, textModelName: textModel)
    }
}
