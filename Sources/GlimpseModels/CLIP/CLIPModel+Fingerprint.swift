import Foundation

extension CLIPModel {
    /// Identifies a checkpoint cheaply: config.json plus the weights' size, beginning and end.
    /// A library records it so that searching with another model is caught before it gives nonsense.
    public static func fingerprint(directory: String) throws -> String {
        var hasher = FNV1a64()
        for name in ["config.json", "model.safetensors", "model.safetensors.index.json"] {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            hasher.add(Array(name.utf8)); hasher.add(Array(String(size).utf8))
            try handle.seek(toOffset: 0)
            hasher.add([UInt8](try handle.read(upToCount: 1 << 20) ?? Data()))
            if size > 2 << 20 {
                try handle.seek(toOffset: size - (1 << 20))
                hasher.add([UInt8](try handle.read(upToCount: 1 << 20) ?? Data()))
            }
        }
        return String(hasher.value, radix: 16)
    }
}

/// 64-bit FNV-1a, enough to tell checkpoints apart.
struct FNV1a64 {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ bytes: [UInt8]) {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    }
}
