import Foundation

/// The weights of a Hugging Face model folder: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` lists, or — for older checkpoints that have nothing else — `pytorch_model.bin`
/// (read as data by `PyTorchCheckpointFile`, never unpickled by Python).
public final class SafetensorsCheckpoint: @unchecked Sendable {
    public let directory: String
    private var files: [String: SafetensorsFile] = [:]
    private let shardOf: [String: String]
    private var pytorch: PyTorchCheckpointFile?

    public init(directory: String) throws {
        self.directory = directory
        let single = (directory as NSString).appendingPathComponent("model.safetensors")
        let index = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        let bin = (directory as NSString).appendingPathComponent("pytorch_model.bin")
        if FileManager.default.fileExists(atPath: single) {
            let file = try SafetensorsFile(path: single)
            files[single] = file
            shardOf = Dictionary(uniqueKeysWithValues: file.entries.keys.map { ($0, single) })
        } else if FileManager.default.fileExists(atPath: index) {
            let json = try JSONConfig(contentsOf: index)
            guard let map = json.values["weight_map"] as? [String: String] else {
                throw ConfigError.wrongType(path: index, key: "weight_map", expected: "an object of tensor name to file")
            }
            // Shards are files of this folder: a name with a path in it would read files elsewhere.
            if let bad = map.values.first(where: { $0.isEmpty || $0.contains("/") || $0.contains("\\") || $0 == "." || $0 == ".." }) {
                throw ConfigError.invalidValue(path: index, key: "weight_map", reason: "names shard \"\(bad)\", which is not a file name in the model folder")
            }
            shardOf = map.mapValues { (directory as NSString).appendingPathComponent($0) }
        } else if FileManager.default.fileExists(atPath: bin) {
            let file = try PyTorchCheckpointFile(path: bin)
            pytorch = file
            shardOf = Dictionary(uniqueKeysWithValues: (Array(file.entries.keys) + Array(file.skipped.keys)).map { ($0, bin) })
        } else {
            throw SafetensorsError.cannotOpen(path: single, reason: "not found (nor pytorch_model.bin)")
        }
    }

    public func has(_ name: String) -> Bool { shardOf[name] != nil }

    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        guard let path = shardOf[name] else {
            throw SafetensorsError.missingTensor(path: (directory as NSString).appendingPathComponent("model.safetensors"), tensor: name)
        }
        if let pytorch { return try pytorch.tensor(name, shape: shape) }
        if files[path] == nil { files[path] = try SafetensorsFile(path: path) }
        return try files[path]!.tensor(name, shape: shape)
    }

    /// Reads a tensor that may be absent.
    public func optionalTensor(_ name: String, shape: [Int]? = nil) throws -> Tensor? {
        has(name) ? try tensor(name, shape: shape) : nil
    }
}
