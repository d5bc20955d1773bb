import Foundation
import GlimpseEngine
import GlimpseImage
import GlimpseModels
import GlimpseStore

/// The sentence encoder captions are embedded with, when neither the flag nor the library names one.
enum SentenceModelName {
    static let defaultModel = "sentence-transformers/all-MiniLM-L6-v2"
}

/// Loading the caption path's two models and binding them to a store.
enum CaptionModels {
    /// A caption indexer for `store`: the captioning model, and the sentence model the store's captions use
    /// (`--sentence-model` must then be that one), recorded in the store on first use.
    static func load(captionModel: String?, sentenceModel: String?, store: any ImageStore, generation: GenerationOptions,
                     maxPixels: Int) async throws -> CaptionIndexer {
        let (captionName, model) = try await CaptionModelName.load(captionModel)
        let captioner: Captioner
        // Shrink-on-load, as for embeddings: the encoder sees 224×224 (or so) pixels whatever the photo's size.
        do { captioner = try Captioner(model: model, decoder: ImageDecoder(maxPixels: maxPixels), fastDecode: true) } catch {
            throw CLIError("cannot caption with \(captionName): \(error)")
        }
        try generation.apply(to: &captioner.settings)
        let bound = try await store.captionModels()
        let (sentenceName, sentences) = try await loadSentenceModel(sentenceModel ?? bound?.sentenceModel ?? SentenceModelName.defaultModel)
        try await store.bindCaptionModels(CaptionBinding(
            captionModel: captionName, sentenceModel: sentenceName, sentenceFingerprint: try ModelFingerprint.of(directory: sentences.directory),
            dimension: sentences.encoder.textEmbeddingDimension))
        return CaptionIndexer(store: store, captioner: captioner, sentences: sentences.encoder)
    }

    /// The sentence encoder a store's captions were embedded with (nil when it has no captions), checked against
    /// the fingerprint the store recorded.
    static func storeSentenceEncoder(_ store: any ImageStore) async throws -> (any TextEncoder)? {
        guard let bound = try await store.captionModels() else { return nil }
        let (name, loaded) = try await loadSentenceModel(bound.sentenceModel)
        guard try ModelFingerprint.of(directory: loaded.directory) == bound.sentenceFingerprint else {
            throw CLIError("\(store.location): captions were embedded with another copy of \(name) (its weights differ): caption search would compare unrelated vectors")
        }
        return loaded.encoder
    }

    static func loadSentenceModel(_ name: String) async throws -> (name: String, (directory: String, encoder: any TextEncoder)) {
        let resolved = try await ModelOptions.resolve(name)
        let model: LoadedModel
        do { model = try ModelLoader.load(directory: resolved.directory) } catch {
            throw CLIError("cannot load sentence model \(name): \(error)")
        }
        guard let encoder = model.textEncoder else { throw CLIError("\(name) has no text encoder: it cannot embed captions") }
        return (name, (resolved.directory, encoder))
    }
}
