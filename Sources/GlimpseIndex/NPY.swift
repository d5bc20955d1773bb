import Foundation

/// Reads and writes NumPy `.npy` files of float32 matrices (the benchmark's vector files).
public enum NPY {
    public struct Matrix: Sendable {
        public var rows: Int
        public var columns: Int
        /// Row-major values.
        public var values: [Float]
        public init(rows: Int, columns: Int, values: [Float]) {
            precondition(values.count == rows * columns)
            self.rows = rows
            self.columns = columns
            self.values = values
        }
        public func row(_ i: Int) -> [Float] { Array(values[(i * columns)..<((i + 1) * columns)]) }
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case unsupported(path: String, reason: String)
        public var description: String {
            switch self {
            case let .unreadable(path, reason): "cannot read \(path): \(reason)"
            case let .unsupported(path, reason): "\(path): \(reason)"
            }
        }
    }

    /// A C-order (n, d) or (n,) float32 array: header `\x93NUMPY`, version, header length, a Python dict literal
    /// with descr '<f4', fortran_order False and the shape, then the data.
    public static func readFloat32Matrix(_ path: String) throws -> Matrix {
        guard let data = FileManager.default.contents(atPath: path) else { throw Error.unreadable(path: path, reason: "no such file") }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw Error.unsupported(path: path, reason: "not a .npy file")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw Error.unsupported(path: path, reason: "truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default:
            throw Error.unsupported(path: path, reason: "npy version \(major)")
        }
        guard bytes.count >= start + headerLength else { throw Error.unsupported(path: path, reason: "truncated header") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        guard header.contains("'descr': '<f4'") || header.contains("'descr': '|f4'") else {
            throw Error.unsupported(path: path, reason: "dtype is not little-endian float32: \(header)")
        }
        guard header.contains("'fortran_order': False") else { throw Error.unsupported(path: path, reason: "Fortran order") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw Error.unsupported(path: path, reason: "no shape in header")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let rows: Int, columns: Int
        switch dims.count {
        case 1: (rows, columns) = (dims[0], 1)
        case 2: (rows, columns) = (dims[0], dims[1])
        default: throw Error.unsupported(path: path, reason: "shape \(dims) is not 1-d or 2-d")
        }
        let offset = start + headerLength
        guard bytes.count - offset == rows * columns * 4 else {
            throw Error.unsupported(path: path, reason: "data has \(bytes.count - offset) bytes, shape needs \(rows * columns * 4)")
        }
        var values = [Float](repeating: 0, count: rows * columns)
        values.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { src in out.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset...])) }
        }
        return Matrix(rows: rows, columns: columns, values: values)
    }

    /// Writes a version-1.0 .npy file of shape (rows, columns), float32.
    public static func writeFloat32Matrix(_ matrix: Matrix, to path: String) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.columns)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        out.append(contentsOf: Array(header.utf8))
        matrix.values.withUnsafeBytes { out.append(contentsOf: $0) }
        guard FileManager.default.createFile(atPath: path, contents: out) else {
            throw Error.unreadable(path: path, reason: "cannot write")
        }
    }
}
