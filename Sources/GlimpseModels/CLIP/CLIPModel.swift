import Foundation
import GlimpseTensor

/// Why a model folder could not be loaded.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case notADirectory(path: String)
    case mismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notADirectory(path): "\(path): not a model folder (expected config.json, model.safetensors, tokenizer.json, preprocessor_config.json)"
        case let .mismatch(path, reason): "\(path): \(reason)"
        }
    }
}

/// A CLIP model: both towers and the tokenizer, loaded from a Hugging Face model folder.
public final class CLIPModel: @unchecked Sendable {
    public let directory: String
    public let config: CLIPConfig
    public let text: CLIPTextTower
    public let vision: CLIPVisionTower
    public let tokenizer: CLIPTokenizer?
    public private(set) var precision: Precision = .fp32

    /// Loads config.json, model.safetensors (or its shards) and the tokenizer from `directory`.
    public init(directory: String, precision: Precision = .fp32) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.notADirectory(path: directory)
        }
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        config = try CLIPConfig(contentsOf: configPath)
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        text = try CLIPTextTower(checkpoint: checkpoint, config: config.text)
        vision = try CLIPVisionTower(checkpoint: checkpoint, config: config.vision)
        guard text.projectionDim == vision.projectionDim else {
            throw ModelError.mismatch(path: configPath, reason: "text projection has \(text.projectionDim) outputs but visual projection has \(vision.projectionDim)")
        }
        tokenizer = try CLIPTokenizer(directory: directory)
        setPrecision(precision)
    }

    /// A model with random weights and no tokenizer, for benchmarks.
    public init(random config: CLIPConfig, seed: UInt64 = 42, precision: Precision = .fp32) {
        var generator = SeededGenerator(seed: seed)
        directory = "<random>"
        self.config = config
        text = CLIPTextTower(random: config.text, projectionDim: config.projectionDim, generator: &generator)
        vision = CLIPVisionTower(random: config.vision, projectionDim: config.projectionDim, generator: &generator)
        tokenizer = nil
        setPrecision(precision)
    }

    public func setPrecision(_ precision: Precision) {
        self.precision = precision
        text.prepare(precision)
        vision.prepare(precision)
    }

    /// Size of the shared embedding space.
    public var embeddingDim: Int { text.projectionDim }

    /// The L2-normalised embedding of a text query.
    public func embed(text query: String) -> [Float] {
        guard let tokenizer else { preconditionFailure("model has no tokenizer") }
        return normalized(text.embed(ids: tokenizer.encode(query)))
    }

    /// L2-normalised embeddings of several text queries, computed in one batched pass.
    public func embed(texts queries: [String]) -> [[Float]] {
        guard let tokenizer else { preconditionFailure("model has no tokenizer") }
        return text.embed(batch: queries.map(tokenizer.encode)).map(normalized)
    }

    /// L2-normalised embeddings of preprocessed images, `count` of them laid out (count, 3, S, S).
    public func embed(pixels: [Float], count: Int) -> [[Float]] {
        let S = config.vision.imageSize
        precondition(pixels.count == count * config.vision.channels * S * S, "pixel buffer does not hold \(count) images of \(S)×\(S)")
        let P = embeddingDim
        let flat = pixels.withUnsafeBufferPointer { vision.embed(pixels: $0.baseAddress!, batch: count) }
        return (0..<count).map { normalized(Array(flat[($0 * P)..<(($0 + 1) * P)])) }
    }
}

/// The vector scaled to unit length.
public func normalized(_ v: [Float]) -> [Float] {
    var out = v
    out.withUnsafeMutableBufferPointer { l2NormalizeRows($0.baseAddress!, rows: 1, channels: v.count) }
    return out
}
