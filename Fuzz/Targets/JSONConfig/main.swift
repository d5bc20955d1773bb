// libFuzzer target: JSONConfig(data:path:) and every typed look-up on every key.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let config = try? JSONConfig(data: Data(bytes: data, count: size), path: "fuzz/config.json") else { return 0 }
    exercise(config, depth: 0)
    return 0
}

private func exercise(_ config: JSONConfig, depth: Int) {
    for key in config.values.keys.sorted() + ["missing"] {
        _ = config.has(key)
        _ = try? config.int(key, default: 1)
        _ = try? config.double(key, default: 1)
        _ = try? config.bool(key, default: false)
        _ = try? config.string(key, default: "")
        _ = try? config.optionalString(key)
        _ = try? config.doubles(key, default: [])
        if depth < 4, let nested = try? config.object(key) { exercise(nested, depth: depth + 1) }
    }
}
