import Foundation
import GlimpseTensor
import GlimpseText

/// Why a model folder could not be loaded.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case notADirectory(path: String)
    case mismatch(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case noImageTower(model: String)
    case noTextTower(model: String)

    public var description: String {
        switch self {
        case let .notADirectory(path): "\(path): not a model folder (expected config.json or modules.json, the weights as model.safetensors, and the tokenizer)"
        case let .mismatch(path, reason): "\(path): \(reason)"
        case let .unsupported(path, reason): "\(path): \(reason)"
        case let .noImageTower(model): "\(model) is a text-only model: it cannot embed images (use an image–text model such as openai/clip-vit-base-patch32)"
        case let .noTextTower(model): "\(model) has no text tower"
        }
    }
}

extension ModelError {
    /// Throws `notADirectory` unless `path` is a folder.
    static func requireFolder(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.notADirectory(path: path)
        }
    }
}

/// A CLIP model: both towers and the tokenizer, loaded from a Hugging Face model folder.
public final class CLIPModel: TextEncoder, ImageEncoder, @unchecked Sendable {
    public let directory: String
    public let config: CLIPConfig
    public let text: CLIPTextTower
    public let vision: CLIPVisionTower
    public let tokenizer: Tokenizer?
    public private(set) var precision: Precision = .fp32

    /// Loads config.json, model.safetensors (or its shards) and the tokenizer from `directory`.
    public init(directory: String, precision: Precision = .fp32) throws {
        try ModelError.requireFolder(directory)
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        config = try CLIPConfig(contentsOf: configPath)
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        text = try CLIPTextTower(checkpoint: checkpoint, config: config.text)
        vision = try CLIPVisionTower(checkpoint: checkpoint, config: config.vision)
        guard text.projectionDim == vision.projectionDim else {
            throw ModelError.mismatch(path: configPath, reason: "text projection has \(text.projectionDim) outputs but visual projection has \(vision.projectionDim)")
        }
        tokenizer = try Tokenizer(directory: directory)
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

    /// Switches the matrix-product precision; int8 first calibrates on built-in inputs in Float32.
    public func setPrecision(_ precision: Precision) {
        if precision == .int8, self.precision != .int8 {
            text.prepare(.fp32); vision.prepare(.fp32)
            CalibrationPass.run(text: tokenizer == nil ? nil : self, image: self)
        }
        self.precision = precision
        text.prepare(precision)
        vision.prepare(precision)
    }

    /// Size of the shared embedding space.
    public var embeddingDim: Int { text.projectionDim }
    public var textEmbeddingDimension: Int { text.projectionDim }
    public var imageEmbeddingDimension: Int { vision.projectionDim }
    public var imageSize: Int { config.vision.imageSize }
    public var channels: Int { config.vision.channels }
    /// CLIP texts are cut at 77 tokens (the position table), start and end tokens included.
    public var maxTokens: Int { min(tokenizer?.modelMaxLength ?? config.text.maxPositions, config.text.maxPositions) }

    public func embed(tokenBatch: [[Int]]) -> [[Float]] { text.embed(batch: tokenBatch) }

    public func embed(pixels: UnsafePointer<Float>, count: Int) -> [Float] { vision.embed(pixels: pixels, batch: count) }
}
