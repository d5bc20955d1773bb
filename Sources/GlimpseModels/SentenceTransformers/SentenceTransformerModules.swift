import Foundation
import GlimpseTensor

/// The modules of a sentence-transformers folder after the transformer, as `modules.json` lists them.
public enum SentenceTransformerModule: Sendable {
    case pooling([PoolingMode])
    case dense(DenseModule)
    case normalize

    /// Reads `modules.json`: the transformer's folder (its `path`, "" for the root) and the modules after it.
    static func read(directory: String) throws -> (transformerPath: String, modules: [SentenceTransformerModule]) {
        let path = (directory as NSString).appendingPathComponent("modules.json")
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw ConfigError.missingFile(path: path) }
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw ConfigError.notJSON(path: path, reason: "expected a list of modules")
        }
        var transformerPath: String?
        var modules: [SentenceTransformerModule] = []
        for entry in list.sorted(by: { ($0["idx"] as? Int ?? 0) < ($1["idx"] as? Int ?? 0) }) {
            guard let type = entry["type"] as? String else { throw ConfigError.wrongType(path: path, key: "type", expected: "a module type") }
            let sub = entry["path"] as? String ?? ""
            guard !sub.hasPrefix("/"), !sub.split(separator: "/").contains("..") else {
                throw ConfigError.invalidValue(path: path, key: "path", reason: "\"\(sub)\" is not a folder inside the model")
            }
            let folder = sub.isEmpty ? directory : (directory as NSString).appendingPathComponent(sub)
            switch type.split(separator: ".").last.map(String.init) ?? type {
            case "Transformer":
                guard transformerPath == nil, modules.isEmpty else {
                    throw ConfigError.unsupported(path: path, reason: "a Transformer module must come first, once")
                }
                transformerPath = folder
            case "Pooling": modules.append(.pooling(try poolingModes(folder: folder)))
            case "Dense": modules.append(.dense(try DenseModule(folder: folder)))
            case "Normalize": modules.append(.normalize)
            default:
                throw ConfigError.unsupported(path: path, reason: "module type \(type) is not supported (Transformer, Pooling, Dense, Normalize)")
            }
        }
        guard let transformerPath else { throw ConfigError.unsupported(path: path, reason: "no sentence_transformers.models.Transformer module") }
        return (transformerPath, modules)
    }

    /// `1_Pooling/config.json`: `pooling_mode_*` flags (or the newer single `pooling_mode`).
    static func poolingModes(folder: String) throws -> [PoolingMode] {
        let json = try JSONConfig(contentsOf: (folder as NSString).appendingPathComponent("config.json"))
        if let single = try json.optionalString("pooling_mode") {
            let name = ["cls": "cls_token", "mean": "mean_tokens", "max": "max_tokens", "mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                        "lasttoken": "lasttoken"][single] ?? single
            guard let mode = PoolingMode(rawValue: name) else {
                throw ConfigError.invalidValue(path: json.path, key: "pooling_mode", reason: "\"\(single)\" is not supported (cls, mean, max, mean_sqrt_len_tokens, lasttoken)")
            }
            return [mode]
        }
        if try json.bool("pooling_mode_weightedmean_tokens", default: false) {
            throw ConfigError.unsupported(path: json.path, reason: "pooling_mode_weightedmean_tokens is not supported (cls, mean, max, mean_sqrt_len, lasttoken)")
        }
        let modes = try PoolingMode.allCases.filter { try json.bool("pooling_mode_" + $0.rawValue, default: false) }
        guard !modes.isEmpty else { throw ConfigError.unsupported(path: json.path, reason: "no pooling mode is enabled") }
        return modes
    }
}

/// sentence-transformers' `Dense`: activation(x·Wᵀ + b), weights in `2_Dense/model.safetensors` as `linear.weight`.
public struct DenseModule: Sendable {
    public enum DenseActivation: String, Sendable { case identity, tanh, relu, gelu, sigmoid }
    public let linear: LinearLayer
    public let activation: DenseActivation

    init(folder: String) throws {
        let json = try JSONConfig(contentsOf: (folder as NSString).appendingPathComponent("config.json"))
        let inFeatures = try json.int("in_features", default: 0), outFeatures = try json.int("out_features", default: 0)
        try json.require("in_features", inFeatures, in: 1...(1 << 16))
        try json.require("out_features", outFeatures, in: 1...(1 << 16))
        let name = try json.string("activation_function", default: "torch.nn.modules.activation.Tanh")
        let short = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        guard let activation = DenseActivation(rawValue: short) else {
            throw ConfigError.invalidValue(path: json.path, key: "activation_function", reason: "\"\(name)\" is not supported (Identity, Tanh, ReLU, GELU, Sigmoid)")
        }
        self.activation = activation
        let checkpoint = try SafetensorsCheckpoint(directory: folder)
        linear = LinearLayer(weight: try checkpoint.tensor("linear.weight", shape: [outFeatures, inFeatures]),
                             bias: try json.bool("bias", default: true) ? try checkpoint.tensor("linear.bias", shape: [outFeatures]) : nil)
    }

    /// activation(x·Wᵀ + b) of every row, in one product.
    func apply(_ rows: [[Float]]) -> [[Float]] {
        let B = rows.count, N = linear.outFeatures
        guard B > 0 else { return [] }
        let input = rows.flatMap { $0 }
        var out = [Float](repeating: 0, count: B * N)
        input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in linear.forward(o.baseAddress!, i.baseAddress!, rows: B) } }
        switch activation {
        case .identity: break
        case .tanh: for i in out.indices { out[i] = Foundation.tanh(out[i]) }
        case .relu: for i in out.indices { out[i] = max(out[i], 0) }
        case .sigmoid: for i in out.indices { out[i] = 1 / (1 + Foundation.exp(-out[i])) }
        case .gelu: out.withUnsafeMutableBufferPointer { Activation.gelu.apply($0.baseAddress!, count: $0.count) }
        }
        return (0..<B).map { Array(out[($0 * N)..<(($0 + 1) * N)]) }
    }
}
