import Dispatch
import Foundation
import GlimpseImage
import GlimpseModels
import GlimpseTensor

/// Captions image files with an image-to-text model: decoding and preprocessing on all cores, the encoder batched,
/// then one generation per image. File I/O and threading live here, not in the model code.
public final class Captioner: @unchecked Sendable {
    public let model: LoadedModel
    public let captioner: any ImageCaptioner
    public let preprocessor: CLIPImagePreprocessor
    public let decoder: ImageDecoder
    /// Generation settings: the model's own unless overridden (`--num-beams`, `--max-length`, …).
    public var settings: GenerationConfig
    public var fastDecode: Bool

    public init(model: LoadedModel, decoder: ImageDecoder = ImageDecoder(), fastDecode: Bool = false) throws {
        guard let captioner = model.captioner, let preprocessor = model.imagePreprocessor else {
            throw ModelError.unsupported(path: model.directory, reason: "not an image-captioning model (expected a vision-encoder-decoder model such as nlpconnect/vit-gpt2-image-captioning)")
        }
        self.model = model; self.captioner = captioner; self.preprocessor = preprocessor; self.decoder = decoder
        self.settings = captioner.generation; self.fastDecode = fastDecode
    }

    /// Captions of image files, in order; a file that cannot be decoded gives its error.
    public func caption(imagePaths paths: [String], batchSize: Int = 8) -> [Result<Caption, Error>] {
        var results: [Result<Caption, Error>] = []
        var start = 0
        while start < paths.count {
            let chunk = Array(paths[start..<min(start + batchSize, paths.count)])
            results += caption(decoded: decodeAll(chunk))
            start += chunk.count
        }
        return results
    }

    /// Captions already preprocessed images (3, S, S) each, passing errors through.
    public func caption(decoded: [Result<[Float], Error>]) -> [Result<Caption, Error>] {
        var pixels: [Float] = [], positions: [Int] = []
        for (i, item) in decoded.enumerated() {
            if case let .success(values) = item { pixels += values; positions.append(i) }
        }
        var results = decoded.map { $0.map { _ in Caption(text: "", ids: []) } }
        guard !positions.isEmpty else { return results }
        do {
            let captions = try captioner.caption(pixels: pixels, count: positions.count, settings: settings)
            for (k, i) in positions.enumerated() { results[i] = .success(captions[k]) }
        } catch {
            for i in positions { results[i] = .failure(error) }
        }
        return results
    }

    /// Preprocessed pixel values of files, decoded concurrently.
    public func decodeAll(_ paths: [String]) -> [Result<[Float], Error>] {
        concurrentResults(paths.count) { try self.preprocessor.pixelValues(path: paths[$0], decoder: self.decoder, fast: self.fastDecode) }
    }
}
