import Foundation

/// Identifies a checkpoint cheaply: its configuration files plus the weights' size, beginning and end.
/// A library records its image encoder's so that searching with another model is caught before it gives nonsense.
public enum ModelFingerprint {
    static let files = ["config.json", "model.safetensors", "model.safetensors.index.json", "modules.json",
                        "2_Dense/config.json", "2_Dense/model.safetensors"]

    public static func of(directory: String) throws -> String {
        var hasher = FNV1a64()
        for name in files {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            // The original three files hash as they always did, so existing libraries keep their fingerprint.
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
