import Foundation
import GlimpseEngine
import GlimpseModels
import GlimpseStore

/// A store opened with the model that built it (or the one --model names, which must be the same), and the text
/// model queries go through when --text-model names one.
struct OpenedLibrary {
    let store: any ImageStore
    let embedder: Embedder
    let modelName: String
    let textModelName: String?
    /// The sentence encoder of the store's captions, loaded when a caption or hybrid search needs it.
    let captionText: (any TextEncoder)?

    /// Opens the store (creating it when `create`), resolves its own model unless --model or $GLIMPSE_MODEL names
    /// one, loads it and checks it against the store; then loads and checks the text model.
    static func open(_ options: LibraryOptions, create: Bool, modelOptions: ModelOptions, textModel: String? = nil,
                     captions: Bool = false) async throws -> OpenedLibrary {
        let store = try await options.open(create: create)
        do {
            let opened = try await open(store, modelOptions: modelOptions, textModel: textModel)
            guard captions else { return opened }
            return OpenedLibrary(store: store, embedder: opened.embedder, modelName: opened.modelName, textModelName: textModel,
                                 captionText: try await CaptionModels.storeSentenceEncoder(store))
        } catch {
            await store.close()
            throw error
        }
    }

    private static func open(_ store: any ImageStore, modelOptions: ModelOptions, textModel: String?) async throws -> OpenedLibrary {
        var options = modelOptions
        if options.model == nil, ProcessInfo.processInfo.environment["GLIMPSE_MODEL"] == nil, let name = try await store.modelName() {
            options.model = name
        }
        let (name, model) = try await options.load()
        var text: LoadedModel?
        if let textModel {
            let resolved = try await ModelOptions.resolve(textModel)
            do { text = try ModelOptions.load(directory: resolved.directory, precision: options.precision) } catch {
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
            try await store.bindModel(name: name, fingerprint: try ModelFingerprint.of(directory: model.directory),
                                      dimension: embedder.embeddingDim)
        } catch { throw CLIError("\(error)") }
        return OpenedLibrary(store: store, embedder: embedder, modelName: name, textModelName: textModel, captionText: nil)
    }
}
