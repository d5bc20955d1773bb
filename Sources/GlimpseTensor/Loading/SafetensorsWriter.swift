import Foundation

/// Writes Float32 tensors to a safetensors file, converting to the requested dtype.
/// Used to make small test models and by tools that save checkpoints.
public enum SafetensorsWriter {
    public struct Item {
        public let name: String
        public let shape: [Int]
        public let values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) vs \(values.count) values")
            self.name = name; self.shape = shape; self.values = values
        }
    }

    public static func data(_ items: [Item], dtype: DType) -> Data {
        var header: [String: Any] = ["__metadata__": ["format": "pt"]]
        var body = Data()
        for item in items.sorted(by: { $0.name < $1.name }) {
            let start = body.count
            switch dtype {
            case .f32: for v in item.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            case .f16: for v in item.values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            case .bf16: for v in item.values { withUnsafeBytes(of: bfloat16Bits(v).littleEndian) { body.append(contentsOf: $0) } }
            }
            header[item.name] = ["dtype": dtype.rawValue, "shape": item.shape, "data_offsets": [start, body.count]]
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }

    public static func write(_ items: [Item], dtype: DType, to path: String) throws {
        try data(items, dtype: dtype).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Float32 to bfloat16 with round-to-nearest-even.
@inline(__always)
public func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return 0x7FC0 }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
}
