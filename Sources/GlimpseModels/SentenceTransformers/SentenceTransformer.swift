import Foundation
import GlimpseTensor
import GlimpseText

// Dimension key: B batch, T tokens, C hidden size, P output size.

/// A sentence-transformers model: a BERT-family transformer, then the modules `modules.json` lists (Pooling →
/// Dense → Normalize). A plain transformers folder of a BERT-family model (no modules.json) loads as
/// sentence-transformers does it: the transformer, then mean pooling.
/// `sentence-transformers/clip-ViT-B-32-multilingual-v1` (distilled into CLIP ViT-B/32's space), all-MiniLM-L6-v2 and
/// paraphrase-multilingual-MiniLM-L12-v2 are laid out this way.
public final class SentenceTransformer: TextEncoder, @unchecked Sendable {
    public let directory: String
    public let transformer: BERTModel
    public let modules: [SentenceTransformerModule]
    public let tokenizer: Tokenizer?
    public let maxTokens: Int
    public let textEmbeddingDimension: Int

    public init(directory: String, precision: Precision = .fp32) throws {
        try ModelError.requireFolder(directory)
        self.directory = directory
        let fm = FileManager.default
        let transformerFolder: String
        if fm.fileExists(atPath: (directory as NSString).appendingPathComponent("modules.json")) {
            (transformerFolder, modules) = try SentenceTransformerModule.read(directory: directory)
        } else {
            transformerFolder = directory
            modules = [.pooling([.mean])]
        }
        let config = try BERTConfig(contentsOf: (transformerFolder as NSString).appendingPathComponent("config.json"))
        transformer = try BERTModel(checkpoint: try SafetensorsCheckpoint(directory: transformerFolder), config: config)
        let tokenizer = try Tokenizer(directory: transformerFolder)
        self.tokenizer = tokenizer
        // sentence-transformers truncates to max_seq_length, else to the smaller of the tokenizer's and the model's limit.
        var limit = min(tokenizer.modelMaxLength ?? config.maxTokens, config.maxTokens)
        for folder in Set([transformerFolder, directory]) {
            let path = (folder as NSString).appendingPathComponent("sentence_bert_config.json")
            if fm.fileExists(atPath: path) {
                let json = try JSONConfig(contentsOf: path)
                let maxSeq = try json.int("max_seq_length", default: limit)
                try json.require("max_seq_length", maxSeq, in: 1...(1 << 20))
                limit = min(maxSeq, config.maxTokens)
            }
        }
        maxTokens = limit
        // The output size follows the modules: pooling multiplies the hidden size, a Dense sets it.
        var dimension = config.encoder.hiddenSize
        var pooled = false
        for module in modules {
            switch module {
            case let .pooling(modes):
                dimension = config.encoder.hiddenSize * modes.count; pooled = true
            case let .dense(dense):
                guard pooled, dense.linear.inFeatures == dimension else {
                    throw ModelError.mismatch(path: directory + "/modules.json", reason: "a Dense module takes \(dense.linear.inFeatures) inputs but receives \(dimension)")
                }
                dimension = dense.linear.outFeatures
            case .normalize: break
            }
        }
        guard pooled else { throw ModelError.unsupported(path: directory + "/modules.json", reason: "no Pooling module after the Transformer") }
        textEmbeddingDimension = dimension
        setPrecision(precision)
    }

    /// Switches the matrix-product precision; int8 first calibrates on built-in sentences in Float32.
    public func setPrecision(_ precision: Precision) {
        if precision == .int8 {
            transformer.prepare(.fp32)
            CalibrationPass.run(text: self, image: nil)
        }
        transformer.prepare(precision)
    }

    public func embed(tokenBatch: [[Int]]) -> [[Float]] {
        guard !tokenBatch.isEmpty else { return [] }
        let (states, T, lengths) = transformer.hiddenStates(tokenBatch)
        let C = transformer.config.encoder.hiddenSize
        var vectors: [[Float]] = []
        for module in modules {
            switch module {
            case let .pooling(modes):
                vectors = pool(states.pointer, batch: tokenBatch.count, tokens: T, channels: C, lengths: lengths, modes: modes)
            case let .dense(dense):
                vectors = dense.apply(vectors)
            case .normalize:
                vectors = vectors.map(normalized)
            }
        }
        return vectors
    }
}
