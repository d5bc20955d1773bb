import Dispatch
import Foundation
import GlimpseImage
import GlimpseTensor

/// Everything needed to turn texts and image files into CLIP embeddings: the model, its tokenizer and its
/// image preprocessor (from `preprocessor_config.json`), and a decoder.
public final class CLIPEmbedder: @unchecked Sendable {
    public let model: CLIPModel
    public let preprocessor: CLIPImagePreprocessor
    public let decoder: ImageDecoder
    /// Use JPEG shrink-on-load (about 3–8× faster decoding of large photos; cosine ≥ 0.999 to the exact path).
    public var fastDecode: Bool

    public init(directory: String, precision: Precision = .fp32, decoder: ImageDecoder = ImageDecoder(), fastDecode: Bool = true) throws {
        model = try CLIPModel(directory: directory, precision: precision)
        let preprocessorPath = (directory as NSString).appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: preprocessorPath) else { throw ConfigError.missingFile(path: preprocessorPath) }
        preprocessor = try CLIPImagePreprocessor(contentsOf: URL(fileURLWithPath: preprocessorPath))
        let side = model.config.vision.imageSize
        guard preprocessor.outputHeight == side, preprocessor.outputWidth == side else {
            throw ModelError.mismatch(path: preprocessorPath, reason: "produces \(preprocessor.outputWidth)×\(preprocessor.outputHeight) images but the vision tower expects \(side)×\(side)")
        }
        self.decoder = decoder
        self.fastDecode = fastDecode
    }

    /// An embedder around an already loaded model (benchmarks use a random one).
    public init(model: CLIPModel, preprocessor: CLIPImagePreprocessor, decoder: ImageDecoder = ImageDecoder(), fastDecode: Bool = true) {
        self.model = model
        self.preprocessor = preprocessor
        self.decoder = decoder
        self.fastDecode = fastDecode
    }

    public var embeddingDim: Int { model.embeddingDim }

    /// The L2-normalised embedding of a text.
    public func embed(text: String) -> [Float] { model.embed(text: text) }

    /// L2-normalised embeddings of several texts in one batched pass (a server's concurrent queries).
    public func embed(texts: [String]) -> [[Float]] { model.embed(texts: texts) }

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
        let slots = UnsafeMutableBufferPointer<Result<[Float], Error>?>.allocate(capacity: paths.count)
        slots.initialize(repeating: nil)
        defer { slots.deallocate() }
        let shared = UncheckedSendable(slots)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            shared.value[i] = Result { try self.pixelValues(path: paths[i]) }
        }
        return slots.map { $0! }
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
        let embeddings = model.embed(pixels: pixels, count: positions.count)
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

extension CLIPEmbedder {
    /// Decodes and preprocesses a file, keeping its displayed size and format.
    public func prepare(path: String) throws -> PreparedPixels {
        let image = try preprocessor.preprocess(path: path, decoder: decoder, fast: fastDecode)
        let ext = (path as NSString).pathExtension.lowercased()
        let format = ["jpg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "tif": "tiff", "heif": "heic"][ext] ?? ext
        return PreparedPixels(pixels: image.pixels, width: image.width, height: image.height, format: format)
    }
}
