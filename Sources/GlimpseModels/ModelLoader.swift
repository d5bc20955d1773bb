import Foundation
import GlimpseImage
import GlimpseTensor
import GlimpseText

/// A loaded model folder: the towers it has, behind the encoder protocols, and how to preprocess its images.
public final class LoadedModel: @unchecked Sendable {
    public let directory: String
    public internal(set) var info: ModelInfo
    public let textEncoder: (any TextEncoder)?
    public let imageEncoder: (any ImageEncoder)?
    /// An image-to-text model (vision-encoder-decoder).
    public let captioner: (any ImageCaptioner)?
    /// From preprocessor_config.json; present whenever `imageEncoder` or `captioner` is.
    public let imagePreprocessor: CLIPImagePreprocessor?

    public init(directory: String, info: ModelInfo, textEncoder: (any TextEncoder)?, imageEncoder: (any ImageEncoder)?,
                captioner: (any ImageCaptioner)? = nil, imagePreprocessor: CLIPImagePreprocessor?) {
        self.directory = directory; self.info = info; self.textEncoder = textEncoder
        self.imageEncoder = imageEncoder; self.captioner = captioner; self.imagePreprocessor = imagePreprocessor
    }
}

/// What `glimpse model info` prints.
public struct ModelInfo: Sendable, Equatable {
    public var family: String
    public var modelType: String
    public var towers: [String]
    public var textDimension: Int?
    public var imageDimension: Int?
    public var imageSize: Int?
    public var tokenizerType: String?
    public var tokenizerSummary: String?
    public var maxTokens: Int?
    /// The precision the matrix products run in.
    public var precision: Precision = .fp32
    /// A sigmoid-trained model's (SigLIP's) `logit_scale` and `logit_bias`: its match probability for a cosine c is
    /// sigmoid(c · exp(scale) + bias).
    public var logitScale: Float?
    public var logitBias: Float?

    /// The model's own probability that a text and an image match, for models trained with a sigmoid loss.
    public func probability(cosine: Float) -> Float? {
        guard let logitScale else { return nil }
        return 1 / (1 + exp(-(cosine * exp(logitScale) + (logitBias ?? 0))))
    }

    public init(family: String, modelType: String, towers: [String], textDimension: Int? = nil, imageDimension: Int? = nil,
                imageSize: Int? = nil, tokenizerType: String? = nil, tokenizerSummary: String? = nil, maxTokens: Int? = nil) {
        self.family = family; self.modelType = modelType; self.towers = towers; self.textDimension = textDimension
        self.imageDimension = imageDimension; self.imageSize = imageSize; self.tokenizerType = tokenizerType
        self.tokenizerSummary = tokenizerSummary; self.maxTokens = maxTokens
    }
}

/// Loads a model folder by what it is: `modules.json` means sentence-transformers, otherwise config.json's
/// `model_type` picks the family (one loader dispatching on the architecture, as llama.cpp does).
public enum ModelLoader {
    /// Families by model_type.
    public static let imageTextTypes = ["clip", "chinese_clip", "siglip"]
    public static let captionTypes = ["vision-encoder-decoder", "blip"]

    /// Loads a model in the precision asked for. `auto` is the fastest precision whose accuracy holds on this CPU
    /// for embedding models (int8 where a vector int8 kernel exists); caption generators stay fp32 under `auto`, since
    /// greedy decoding turns small differences into different words. `warning` says when a request was not honoured.
    public static func load(directory: String, request: PrecisionRequest) throws -> (model: LoadedModel, warning: String?) {
        var (precision, warning) = request.resolve()
        if request == .auto, isCaptioner(directory: directory) { precision = .fp32; warning = nil }
        return (try load(directory: directory, precision: precision), warning)
    }

    static func isCaptioner(directory: String) -> Bool {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        guard let json = try? JSONConfig(contentsOf: configPath), let type = try? json.optionalString("model_type") else { return false }
        return captionTypes.contains(type)
    }

    public static func load(directory: String, precision: Precision = .fp32) throws -> LoadedModel {
        let model = try loadFamily(directory: directory, precision: precision)
        model.info.precision = precision
        return model
    }

    private static func loadFamily(directory: String, precision: Precision) throws -> LoadedModel {
        try ModelError.requireFolder(directory)
        let fm = FileManager.default
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        if fm.fileExists(atPath: (directory as NSString).appendingPathComponent("modules.json")) {
            return try textOnly(SentenceTransformer(directory: directory, precision: precision), family: "sentence-transformers",
                                modelType: (try? JSONConfig(contentsOf: configPath).optionalString("model_type")) ?? nil, directory: directory)
        }
        guard fm.fileExists(atPath: configPath) else { throw ConfigError.missingFile(path: configPath) }
        let json = try JSONConfig(contentsOf: configPath)
        let modelType = try json.optionalString("model_type")
        switch modelType {
        case "clip", nil:
            let model = try CLIPModel(directory: directory, precision: precision)
            return try imageText(model, text: model, family: "CLIP", modelType: "clip", directory: directory)
        case "chinese_clip":
            let model = try ChineseCLIPModel(directory: directory, precision: precision)
            return try imageText(model, text: model, family: "Chinese-CLIP", modelType: "chinese_clip", directory: directory)
        case "siglip", "siglip2":
            let model = try SiglipModel(directory: directory, precision: precision)
            let loaded = try imageText(model, text: model, family: "SigLIP", modelType: "siglip", directory: directory)
            loaded.info.logitScale = model.logitScale
            loaded.info.logitBias = model.logitBias
            return loaded
        case "vision-encoder-decoder":
            let model = try VisionEncoderDecoder(directory: directory, precision: precision)
            return try captioning(model, family: "image captioning (ViT + GPT-2)", modelType: "vision-encoder-decoder", processor: "vit", directory: directory)
        case "blip":
            let model = try BLIPCaptioner(directory: directory, precision: precision)
            return try captioning(model, family: "image captioning (BLIP)", modelType: "blip", processor: "blip", directory: directory)
        case let type? where BERTConfig.modelTypes[type] != nil:
            return try textOnly(SentenceTransformer(directory: directory, precision: precision), family: "transformers text encoder (mean pooling)",
                                modelType: type, directory: directory)
        case let type?:
            let known = (imageTextTypes + captionTypes + BERTConfig.modelTypes.keys.sorted()).joined(separator: ", ")
            throw ConfigError.unsupported(path: configPath, reason: "model_type \"\(type)\" is not supported (\(known), or a sentence-transformers folder)")
        }
    }

    static func textOnly(_ encoder: SentenceTransformer, family: String, modelType: String?, directory: String) throws -> LoadedModel {
        let info = ModelInfo(family: family, modelType: modelType ?? "unknown", towers: ["text"], textDimension: encoder.textEmbeddingDimension,
                             imageDimension: nil, imageSize: nil, tokenizerType: encoder.tokenizer?.modelType,
                             tokenizerSummary: encoder.tokenizer?.summary, maxTokens: encoder.maxTokens)
        return LoadedModel(directory: directory, info: info, textEncoder: encoder, imageEncoder: nil, imagePreprocessor: nil)
    }

    static func captioning(_ model: any ImageCaptioner, family: String, modelType: String, processor: String, directory: String) throws -> LoadedModel {
        let preprocessor = try imagePreprocessor(directory: directory, modelType: processor)
        guard preprocessor.outputHeight == model.imageSize, preprocessor.outputWidth == model.imageSize else {
            throw ModelError.mismatch(path: directory + "/preprocessor_config.json",
                                      reason: "produces \(preprocessor.outputWidth)×\(preprocessor.outputHeight) images but the encoder expects \(model.imageSize)×\(model.imageSize)")
        }
        let info = ModelInfo(family: family, modelType: modelType, towers: ["image", "caption"], imageSize: model.imageSize,
                             tokenizerType: model.tokenizer.modelType, tokenizerSummary: model.tokenizer.summary,
                             maxTokens: model.generation.effectiveMaxLength)
        return LoadedModel(directory: directory, info: info, textEncoder: nil, imageEncoder: nil, captioner: model, imagePreprocessor: preprocessor)
    }

    static func imageText(_ image: any ImageEncoder, text: any TextEncoder, family: String, modelType: String, directory: String) throws -> LoadedModel {
        guard image.imageEmbeddingDimension == text.textEmbeddingDimension else {
            throw ModelError.mismatch(path: directory, reason: "text embeddings have \(text.textEmbeddingDimension) dimensions but image embeddings \(image.imageEmbeddingDimension)")
        }
        let preprocessor = try imagePreprocessor(directory: directory, modelType: modelType)
        let side = image.imageSize
        guard preprocessor.outputHeight == side, preprocessor.outputWidth == side else {
            throw ModelError.mismatch(path: directory + "/preprocessor_config.json",
                                      reason: "produces \(preprocessor.outputWidth)×\(preprocessor.outputHeight) images but the vision tower expects \(side)×\(side)")
        }
        let info = ModelInfo(family: family, modelType: modelType, towers: ["text", "image"], textDimension: text.textEmbeddingDimension,
                             imageDimension: image.imageEmbeddingDimension, imageSize: side, tokenizerType: text.tokenizer?.modelType,
                             tokenizerSummary: text.tokenizer?.summary, maxTokens: text.maxTokens)
        return LoadedModel(directory: directory, info: info, textEncoder: text, imageEncoder: image, imagePreprocessor: preprocessor)
    }

    /// preprocessor_config.json. Chinese-CLIP's processor resizes straight to the square size (no crop, aspect not kept),
    /// whatever form `size` takes. A ViT's (`ViTImageProcessor`) does too, and its defaults differ from CLIP's where
    /// the file is silent: no crop, bilinear, mean and std 0.5.
    static func imagePreprocessor(directory: String, modelType: String) throws -> CLIPImagePreprocessor {
        let path = (directory as NSString).appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: path) else { throw ConfigError.missingFile(path: path) }
        var config = try ImagePreprocessorConfig(contentsOf: URL(fileURLWithPath: path))
        if ["chinese_clip", "vit", "blip", "siglip"].contains(modelType), case let .shortestEdge(n, _) = config.size {
            config.size = .exact(height: n, width: n)
        }
        // BlipImageProcessor: a straight resize (bicubic, CLIP statistics), no crop.
        if modelType == "blip", try !JSONConfig(contentsOf: path).has("do_center_crop") { config.doCenterCrop = false }
        // SiglipImageProcessor: a straight resize to the square size (bicubic unless the file says otherwise), no crop,
        // mean and std 0.5.
        if modelType == "siglip" {
            let keys = try JSONConfig(contentsOf: path)
            if !keys.has("do_center_crop") { config.doCenterCrop = false }
            if !keys.has("resample") { config.resample = .bicubic }
            if !keys.has("image_mean") { config.imageMean = [0.5, 0.5, 0.5] }
            if !keys.has("image_std") { config.imageStd = [0.5, 0.5, 0.5] }
            if !keys.has("size") { config.size = .exact(height: 224, width: 224) }
        }
        if modelType == "vit" {
            let keys = try JSONConfig(contentsOf: path)
            if !keys.has("do_center_crop") { config.doCenterCrop = false }
            if !keys.has("resample") { config.resample = .bilinear }
            if !keys.has("image_mean") { config.imageMean = [0.5, 0.5, 0.5] }
            if !keys.has("image_std") { config.imageStd = [0.5, 0.5, 0.5] }
            if !keys.has("size") { config.size = .exact(height: 224, width: 224) }
        }
        return CLIPImagePreprocessor(config: config)
    }
}
