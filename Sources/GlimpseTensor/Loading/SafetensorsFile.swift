import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header that maps
/// tensor names to dtype, shape and byte range, then the raw data.
///
/// Tensors are converted to Float32 when read, so F16 and BF16 checkpoints load into the same model.
public final class SafetensorsFile: @unchecked Sendable {
    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        public let byteRange: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    public let skipped: [String: String]
    public let metadata: [String: String]
    private let file: MappedFile
    private var base: UnsafeRawPointer { file.bytes.baseAddress! }
    private let dataOffset: Int

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path, minimumSize: 8)
        let header = try Self.parseHeader(file.bytes, path: path)
        entries = header.entries
        skipped = header.skipped
        metadata = header.metadata
        dataOffset = header.dataOffset
    }

    /// What the header of a safetensors file says, validated against the file's size.
    public struct Header: Sendable {
        public let entries: [String: Entry]
        /// Tensors of element types Glimpse does not read (integer buffers), by name → dtype.
        public var skipped: [String: String] = [:]
        public let metadata: [String: String]
        /// Where the data section starts (8 + header length).
        public let dataOffset: Int
    }

    /// Parses and validates the header of a whole safetensors file held in `bytes` (the memory-mapped file, or
    /// any buffer): every entry's shape product, byte length (dtype size × element count) and data offsets are
    /// checked, so that `tensor(_:)` never reads outside the file. `path` only names the file in errors.
    /// This is the one parser; `init(path:)` maps the file and calls it.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Header {
        let size = bytes.count
        guard size >= 8, let base = bytes.baseAddress else { throw SafetensorsError.tooSmall(path: path, size: size) }
        let rawLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard rawLength > 1, rawLength <= UInt64(size - 8), rawLength < 100_000_000 else {
            throw SafetensorsError.badHeader(path: path, reason: "header length \(rawLength) does not fit a \(size)-byte file")
        }
        let headerLength = Int(rawLength)
        let dataOffset = 8 + headerLength
        let headerData = Data(bytes: base + 8, count: headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, reason: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var skipped: [String: String] = [:]
        var metadata: [String: String] = [:]
        let dataSize = size - dataOffset
        for (name, value) in object {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shapeList = info["shape"] as? [Any],
                  let offsetList = info["data_offsets"] as? [Any]
            else { throw SafetensorsError.badHeader(path: path, reason: "entry \(name) lacks dtype, shape or data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                // Integer buffers such as BERT's `embeddings.position_ids` sit beside the weights: skip them (reading one
                // is then a missing-tensor error); an unknown dtype name is a broken file.
                if Self.otherDTypes.contains(dtypeName) { skipped[name] = dtypeName; continue }
                throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtypeName)
            }
            var shape: [Int] = []
            shape.reserveCapacity(shapeList.count)
            for dimension in shapeList {
                guard let n = exactInteger(dimension), n >= 0 else {
                    throw SafetensorsError.badHeader(path: path, reason: "entry \(name) has shape \(shapeList), not a list of non-negative integers")
                }
                shape.append(n)
            }
            guard offsetList.count == 2, let start = exactInteger(offsetList[0]), let end = exactInteger(offsetList[1]) else {
                throw SafetensorsError.badHeader(path: path, reason: "entry \(name) has data_offsets \(offsetList), not two integers")
            }
            guard let count = elementCount(shape) else {
                throw SafetensorsError.badHeader(path: path, reason: "entry \(name) has shape \(shape), whose element count overflows")
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow else {
                throw SafetensorsError.badHeader(path: path, reason: "entry \(name) has shape \(shape), whose byte size overflows")
            }
            guard start >= 0, start <= end, end <= dataSize else { throw SafetensorsError.outOfBounds(path: path, tensor: name) }
            guard end - start == byteCount else {
                throw SafetensorsError.badHeader(path: path, reason: "entry \(name) spans \(end - start) bytes, but \(dtypeName) \(shape) needs \(byteCount)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, byteRange: start..<end)
        }
        return Header(entries: entries, skipped: skipped, metadata: metadata, dataOffset: dataOffset)
    }

    /// A JSON integer as Int: nil for non-numbers, booleans, fractions and values outside Int's range.
    static func exactInteger(_ value: Any) -> Int? {
        guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), Int(exactly: d) != nil else { return nil }
        // Integers above 2^53 are not exact in a Double; take the integer value when the number holds one.
        switch String(cString: n.objCType) {
        case "d", "f": return Int(exactly: d)
        case "Q", "L", "I", "S", "C":
            return n.uint64Value <= UInt64(Int.max) ? Int(n.uint64Value) : nil
        default: return Int(exactly: n.int64Value)
        }
    }

    /// The product of a shape's dimensions, or nil when it overflows Int.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    public var names: [String] { entries.keys.sorted() }

    /// Reads a tensor as Float32, checking its shape when one is expected.
    /// Element types of the safetensors format that hold no weights Glimpse reads.
    static let otherDTypes: Set<String> = ["F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2"]

    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        guard let entry = entries[name] else {
            if let dtype = skipped[name] { throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtype) }
            throw SafetensorsError.missingTensor(path: path, tensor: name)
        }
        try Self.check(shape: entry.shape, expected: expected, path: path, tensor: name)
        let count = Self.elementCount(entry.shape)!  // checked by parseHeader
        let out = FloatBuffer(count: count, zeroed: false)
        let source = base + dataOffset + entry.byteRange.lowerBound
        Self.convert(source, dtype: entry.dtype, count: count, into: out.pointer)
        return Tensor(shape: expected ?? entry.shape, buffer: out)
    }

    /// Throws `shapeMismatch` unless a stored shape is the expected one; a [N] vector stored as [1, N] (or similar)
    /// is the same data.
    static func check(shape: [Int], expected: [Int]?, path: String, tensor name: String) throws {
        guard let expected, expected != shape else { return }
        guard let expectedCount = elementCount(expected), expectedCount == elementCount(shape),
              expected.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) else {
            throw SafetensorsError.shapeMismatch(path: path, tensor: name, expected: expected, actual: shape)
        }
    }

    static func convert(_ source: UnsafeRawPointer, dtype: DType, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            memcpy(out, source, count * 4)
        case .f16:
            for i in 0..<count {
                out[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<count {
                out[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)) << 16)
            }
        }
    }
}
