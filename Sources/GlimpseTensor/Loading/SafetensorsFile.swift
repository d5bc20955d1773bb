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
    public let metadata: [String: String]
    private let base: UnsafeRawPointer
    private let mappedSize: Int
    private let dataOffset: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        guard size >= 8 else { throw SafetensorsError.tooSmall(path: path, size: size) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw SafetensorsError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(map)
        mappedSize = size
        do {
            let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
            guard headerLength > 1, headerLength <= size - 8, headerLength < 100_000_000 else {
                throw SafetensorsError.badHeader(path: path, reason: "header length \(headerLength) does not fit a \(size)-byte file")
            }
            dataOffset = 8 + headerLength
            let headerData = Data(bytes: base + 8, count: headerLength)
            guard let object = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
                throw SafetensorsError.badHeader(path: path, reason: "header is not a JSON object")
            }
            var entries: [String: Entry] = [:]
            var metadata: [String: String] = [:]
            let dataSize = size - dataOffset
            for (name, value) in object {
                if name == "__metadata__" {
                    for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = "\(v)" }
                    continue
                }
                guard let info = value as? [String: Any],
                      let dtypeName = info["dtype"] as? String,
                      let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                      let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                      offsets.count == 2
                else { throw SafetensorsError.badHeader(path: path, reason: "entry \(name) lacks dtype, shape or data_offsets") }
                guard let dtype = DType(rawValue: dtypeName) else {
                    throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtypeName)
                }
                let count = shape.reduce(1, *)
                guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] <= dataSize,
                      offsets[1] - offsets[0] == count * dtype.byteSize
                else { throw SafetensorsError.outOfBounds(path: path, tensor: name) }
                entries[name] = Entry(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
            }
            self.entries = entries
            self.metadata = metadata
        } catch {
            munmap(map, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedSize) }

    public var names: [String] { entries.keys.sorted() }

    /// Reads a tensor as Float32, checking its shape when one is expected.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        guard let entry = entries[name] else { throw SafetensorsError.missingTensor(path: path, tensor: name) }
        if let expected, expected != entry.shape {
            // A [N] vector stored as [1, N] (or similar) is the same data.
            guard expected.reduce(1, *) == entry.shape.reduce(1, *), expected.filter({ $0 != 1 }) == entry.shape.filter({ $0 != 1 }) else {
                throw SafetensorsError.shapeMismatch(path: path, tensor: name, expected: expected, actual: entry.shape)
            }
        }
        let count = entry.shape.reduce(1, *)
        let out = FloatBuffer(count: count, zeroed: false)
        let source = base + dataOffset + entry.byteRange.lowerBound
        Self.convert(source, dtype: entry.dtype, count: count, into: out.pointer)
        return Tensor(shape: expected ?? entry.shape, buffer: out)
    }

    static func convert(_ source: UnsafeRawPointer, dtype: DType, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            memcpy(out, source, count * 4)
        case .f16:
            for i in 0..<count {
                out[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<count {
                out[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        }
    }
}
