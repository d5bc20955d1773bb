import Foundation
import GlimpseModels
import GlimpseStore

/// A library opened with the model that built it (or the one --model names, which must be the same).
struct OpenedLibrary {
    let library: Library
    let embedder: CLIPEmbedder
    let modelName: String

    /// Opens `directory` (creating it when `create`), resolves the library's own model unless --model or
    /// $GLIMPSE_MODEL names one, loads it and checks it against the library.
    static func open(_ directory: String, create: Bool, modelOptions: ModelOptions) async throws -> OpenedLibrary {
        let library: Library
        do { library = try Library(directory: directory, create: create) } catch { throw CLIError("\(error)") }
        var options = modelOptions
        if options.model == nil, ProcessInfo.processInfo.environment["GLIMPSE_MODEL"] == nil, let name = try library.modelName {
            options.model = name
        }
        let model = try await options.resolve()
        let embedder: CLIPEmbedder
        do { embedder = try CLIPEmbedder(directory: model.directory, precision: options.precision) } catch {
            throw CLIError("cannot load model: \(error)")
        }
        do {
            try library.bindModel(name: model.name, fingerprint: try CLIPModel.fingerprint(directory: model.directory),
                                  dimension: embedder.embeddingDim)
        } catch { throw CLIError("\(error)") }
        return OpenedLibrary(library: library, embedder: embedder, modelName: model.name)
    }
}
