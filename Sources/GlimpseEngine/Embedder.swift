import Dispatch
import Foundation
import GlimpseImage
import GlimpseModels
import GlimpseTensor

/// Everything needed to turn texts and image files into embeddings of one space: an image encoder with its
/// preprocessor and a decoder, and a text encoder — the image model's own, or another one trained into its space
/// (`--text-model`, e.g. a multilingual sentence encoder distilled from CLIP). File I/O and threading live here,
/// not in the model code.
public final class Embedder: @unchecked Sendable {
    /// The precision embeddings are made in (what a library records of them).
    public var precision: Precision { model.info.precision }
    public let model: LoadedModel
    public let image: any ImageEncoder
    public let text: any TextEncoder
    /// The model queries are encoded with when it is not `model` itself.
    public let textModel: LoadedModel?
    public let preprocessor: CLIPImagePreprocessor
    public let decoder: ImageDecoder
    /// Use JPEG shrink-on-load (about 3–8× faster decoding of large photos; cosine ≥ 0.999 to the exact path).
    public var fastDecode: Bool

    /// Loads the image–text model in `directory`.
    public convenience init(directory: String, precision: Precision = .fp32, decoder: ImageDecoder = ImageDecoder(), fastDecode: Bool = true) throws {
        try self.init(model: ModelLoader.load(directory: directory, precision: precision), decoder: decoder, fastDecode: fastDecode)
    }

    /// An embedder for `model`'s images, with `textModel`'s text encoder when given (it must embed into a space of
    /// the same size; `ModelPairing` checks the names).
    public init(model: LoadedModel, textModel: LoadedModel? = nil, decoder: ImageDecoder = ImageDecoder(), fastDecode: Bool = true) throws {
        guard let image = model.imageEncoder, let preprocessor = model.imagePreprocessor else {
            throw ModelError.noImageTower(model: model.directory)
        }
        guard let text = textModel?.textEncoder ?? model.textEncoder else {
            throw ModelError.noTextTower(model: textModel?.directory ?? model.directory)
        }
        if let textModel, text.textEmbeddingDimension != image.imageEmbeddingDimension {
            throw ModelError.mismatch(path: textModel.directory, reason: "the text model embeds into \(text.textEmbeddingDimension) dimensions but the image model \(model.directory) into \(image.imageEmbeddingDimension)")
        }
        self.model = model; self.image = image; self.text = text; self.textModel = textModel
        self.preprocessor = preprocessor; self.decoder = decoder; self.fastDecode = fastDecode
    }

    /// An embedder around already loaded encoders (benchmarks use random ones).
    public init(image: any ImageEncoder & TextEncoder, preprocessor: CLIPImagePreprocessor, decoder: ImageDecoder = ImageDecoder(), fastDecode: Bool = true) {
        let info = ModelInfo(family: "random", modelType: "random", towers: ["text", "image"], textDimension: image.textEmbeddingDimension,
                             imageDimension: image.imageEmbeddingDimension, imageSize: image.imageSize)
        model = LoadedModel(directory: "<random>", info: info, textEncoder: image, imageEncoder: image, imagePreprocessor: preprocessor)
        self.image = image; text = image; textModel = nil
        self.preprocessor = preprocessor; self.decoder = decoder; self.fastDecode = fastDecode
    }

    public var embeddingDim: Int { image.imageEmbeddingDimension }

    /// The L2-normalised embedding of a text.
    public func embed(text query: String) -> [Float] { text.embed(text: query) }

    /// L2-normalised embeddings of several texts in one batched pass (a server's concurrent queries).
    public func embed(texts: [String]) -> [[Float]] { text.embed(texts: texts) }

    /// Preprocessed pixel values (3, S, S) of an image file.
    public func pixelValues(path: String) throws -> [Float] {
        try preprocessor.pixelValues(path: path, decoder: decoder, fast: fastDecode)
    }

    /// L2-normalised embeddings of image files, in order; a file that cannot be decoded gives its error.
    /// Files are decoded on all cores, then embedded `batchSize` at a time.
    public func embed(imagePaths paths: [String], batchSize: Int = 32) -> [Result<[Float], Error>] {
        var results: [Result<[Float], Error>] = []
        results.reserveCapacity(paths.count)
        var start = 0
        while start < paths.count {
            let chunk = Array(paths[start..<min(start + batchSize, paths.count)])
            results += embedDecoded(decodeAll(chunk))
            start += chunk.count
        }
        return results
    }

    /// Decodes and preprocesses files concurrently.
    public func decodeAll(_ paths: [String]) -> [Result<[Float], Error>] {
        concurrentResults(paths.count) { try self.pixelValues(path: paths[$0]) }
    }

    /// Embeds already preprocessed images in one batch, passing errors through.
    public func embedDecoded(_ decoded: [Result<[Float], Error>]) -> [Result<[Float], Error>] {
        var pixels: [Float] = []
        var positions: [Int] = []
        for (i, item) in decoded.enumerated() {
            if case let .success(values) = item { pixels += values; positions.append(i) }
        }
        var results = decoded.map { $0.map { _ in [Float]() } }
        guard !positions.isEmpty else { return results }
        let embeddings = image.embed(pixels: pixels, count: positions.count)
        for (k, i) in positions.enumerated() { results[i] = .success(embeddings[k]) }
        return results
    }
}

/// A decoded, preprocessed image and what the library records about it.
public struct PreparedPixels: Sendable {
    public let pixels: [Float]
    /// Size of the image as a viewer shows it (after EXIF orientation).
    public let width: Int
    public let height: Int
    /// Lower-case format name ("jpeg", "png", ...).
    public let format: String
}

extension Embedder {
    /// Decodes and preprocesses a file, keeping its displayed size and format.
    public func prepare(path: String) throws -> PreparedPixels {
        let image = try preprocessor.preprocess(path: path, decoder: decoder, fast: fastDecode)
        let ext = (path as NSString).pathExtension.lowercased()
        let format = ["jpg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "tif": "tiff", "heif": "heic"][ext] ?? ext
        return PreparedPixels(pixels: image.pixels, width: image.width, height: image.height, format: format)
    }
}

/// `body(i)` for i in 0..<count on all cores, each result (or error) in its place.
func concurrentResults<T>(_ count: Int, _ body: (Int) throws -> T) -> [Result<T, Error>] {
    let slots = UnsafeMutableBufferPointer<Result<T, Error>?>.allocate(capacity: count)
    slots.initialize(repeating: nil)
    defer { slots.deallocate() }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(slots), work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { i in shared.value[i] = Result { try work.value(i) } }
    }
    return slots.map { $0! }
}
