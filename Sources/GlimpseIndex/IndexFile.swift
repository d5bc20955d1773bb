import CGlimpseKernels
import Foundation

/// Why an index file could not be read or written. Every case names the file.
public enum IndexFileError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// The file ends before the header or a section does.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The first 8 bytes are not `GLIMPIDX`: not an index file.
    case badMagic(path: String)
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// An exact-search file where an HNSW file was expected, or the reverse.
    case wrongKind(path: String, found: UInt32, expected: UInt32)
    /// A section's or the header's bytes do not match their checksum.
    case checksumMismatch(path: String, section: String)
    /// Structurally invalid: impossible sizes, links to missing elements, duplicate labels…
    case corrupt(path: String, reason: String)
    /// Valid, but written for another generation of the library than the caller expects: rebuild.
    case stale(path: String, found: UInt64, expected: UInt64)
    /// Written for vectors of another dimension than the caller expects.
    case dimensionMismatch(path: String, found: Int, expected: Int)
    case writeFailed(path: String, reason: String)

    public var path: String {
        switch self {
        case let .cannotOpen(path, _), let .truncated(path, _, _), let .badMagic(path), let .unsupportedVersion(path, _, _),
             let .wrongKind(path, _, _), let .checksumMismatch(path, _), let .corrupt(path, _), let .stale(path, _, _),
             let .dimensionMismatch(path, _, _), let .writeFailed(path, _):
            path
        }
    }

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open index \(path): \(reason)"
        case let .truncated(path, expected, actual): "index \(path) is truncated: needs \(expected) bytes, has \(actual)"
        case let .badMagic(path): "\(path) is not a Glimpse index file (bad magic number)"
        case let .unsupportedVersion(path, found, supported): "index \(path) has format version \(found), this build reads \(supported)"
        case let .wrongKind(path, found, expected): "index \(path) holds index kind \(found), expected \(expected)"
        case let .checksumMismatch(path, section): "index \(path) is corrupt: checksum mismatch in \(section)"
        case let .corrupt(path, reason): "index \(path) is corrupt: \(reason)"
        case let .stale(path, found, expected): "index \(path) is stale: generation \(found), expected \(expected)"
        case let .dimensionMismatch(path, found, expected): "index \(path) holds \(found)-d vectors, expected \(expected)"
        case let .writeFailed(path, reason): "cannot write index \(path): \(reason)"
        }
    }
}

/// The library (by its UUID) and the generation of it that an index file reflects. An index whose library id is
/// not the library's own (another library, or one deleted and created again) is never trusted.
public struct IndexOrigin: Sendable, Equatable {
    public static let noLibrary = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    public var libraryID: UUID
    public var generation: UInt64
    public init(libraryID: UUID = IndexOrigin.noLibrary, generation: UInt64) {
        self.libraryID = libraryID
        self.generation = generation
    }
}

/// Which index a file holds.
public enum IndexFileKind: UInt32, Sendable {
    case exact = 1
    case hnsw = 2
}

/// The fixed header of a Glimpse index file.
///
/// File format (version 2, little-endian), one format for both index kinds:
///
///     offset size
///          0    8  magic "GLIMPIDX"
///          8    4  format version (2)
///         12    4  kind: 1 exact, 2 HNSW
///         16    4  dimension
///         20    4  M (0 for exact)
///         24    8  count: stored elements (HNSW: including removed ones that still route)
///         32    8  live count
///         40    4  efConstruction
///         44    4  ef (default query ef)
///         48    4  maxLevel (-1 when empty)
///         52    4  number of sections
///         56    8  entry point (internal id, -1 when empty)
///         64    8  generation: the library generation (change counter) the index reflects
///         72    8  level generator state (so that later inserts repeat)
///         80   16  library id: the UUID of the library the index was built from (zero when it has none)
///         96    8  reserved (0)
///        104    8  checksum of bytes 0..<104
///
/// then the sections, each a 24-byte header (4-byte tag, 4 bytes 0, 8-byte length, 8-byte checksum of the body)
/// followed by `length` bytes. The reader checks every size against the header and the file size before it
/// allocates, verifies every checksum and the graph's structure, and throws `IndexFileError`: a damaged file
/// never crashes the reader. Writers go through a temporary file, fsync and rename, so a crash (kill -9, power
/// loss) leaves the old file or the new one, never half of one.
public struct IndexFileHeader: Sendable, Equatable {
    public static let magic: [UInt8] = Array("GLIMPIDX".utf8)
    public static let version: UInt32 = 2
    static let size = 112

    public var kind: IndexFileKind
    public var dimension: Int
    public var M: Int
    public var count: Int
    public var liveCount: Int
    public var efConstruction: Int
    public var ef: Int
    public var maxLevel: Int
    public var sectionCount: Int
    public var entryPoint: Int
    public var generation: UInt64
    public var levelSeed: UInt64
    public var libraryID: UUID

    /// Which library, at which generation, the index reflects.
    public var origin: IndexOrigin { IndexOrigin(libraryID: libraryID, generation: generation) }

    /// Reads and checks only the header: cheap, for deciding whether an index is stale.
    public static func read(from path: String) throws -> IndexFileHeader {
        let reader = try IndexFileReader(path: path)
        return try reader.readHeader()
    }

    func encoded() -> [UInt8] {
        var b = [UInt8]()
        b.reserveCapacity(IndexFileHeader.size)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) } }
        b.append(contentsOf: IndexFileHeader.magic)
        put(IndexFileHeader.version)
        put(kind.rawValue)
        put(UInt32(dimension))
        put(UInt32(M))
        put(UInt64(count))
        put(UInt64(liveCount))
        put(UInt32(efConstruction))
        put(UInt32(ef))
        put(Int32(maxLevel))
        put(UInt32(sectionCount))
        put(Int64(entryPoint))
        put(generation)
        put(levelSeed)
        withUnsafeBytes(of: libraryID.uuid) { b.append(contentsOf: $0) }
        put(UInt64(0))
        put(b.withUnsafeBytes { glimpse_checksum64($0.baseAddress, $0.count, 0) })
        return b
    }
}

/// Writes an index file atomically: everything goes to `PATH.tmp-PID-RANDOM` in the same folder, which is
/// fsynced, renamed over PATH, and the folder fsynced. Dropping the writer without `commit()` deletes the
/// temporary file.
final class IndexFileWriter {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    private var committed = false

    init(path: String) throws {
        self.path = path
        temporaryPath = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IndexFileError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    func write(_ bytes: UnsafeRawPointer?, _ count: Int) throws {
        guard count > 0, let bytes else { return }
        var done = 0
        while done < count {
            let n = systemWrite(fd, bytes + done, min(count - done, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw IndexFileError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0.baseAddress, $0.count) } }

    func writeSection(_ tag: SectionTag, _ body: UnsafeRawPointer?, _ length: Int) throws {
        var h = [UInt8]()
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { h.append(contentsOf: $0) } }
        put(tag.rawValue)
        put(UInt32(0))
        put(UInt64(length))
        put(glimpse_checksum64(length > 0 ? body : nil, length, UInt64(tag.rawValue)))
        try write(h)
        try write(body, length)
    }

    func commit() throws {
        guard fsync(fd) == 0 else { throw IndexFileError.writeFailed(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw IndexFileError.writeFailed(path: path, reason: "rename: \(String(cString: strerror(errno)))")
        }
        committed = true
        let folder = (path as NSString).deletingLastPathComponent
        let dirfd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}

/// Four-character section tags.
enum SectionTag: UInt32 {
    case vectors = 0x5343_4556  // "VECS"
    case labels = 0x4C42_414C  // "LABL"
    case level0 = 0x304C_564C  // "LVL0"
    case levels = 0x4C56_454C  // "LEVL"
    case upper = 0x5250_5055  // "UPPR"
    case deleted = 0x454C_4544  // "DELE"

    var name: String {
        withUnsafeBytes(of: rawValue.littleEndian) { String(decoding: $0, as: UTF8.self) }
    }
}

/// Reads an index file front to back, checking every size before trusting it.
final class IndexFileReader {
    let path: String
    private let fd: Int32
    let fileSize: Int
    private(set) var offset = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IndexFileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw IndexFileError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        fileSize = Int(st.st_size)
    }

    deinit { close(fd) }

    private func read(into buffer: UnsafeMutableRawPointer, _ count: Int) throws {
        guard count <= fileSize - offset else {
            throw IndexFileError.truncated(path: path, expectedBytes: offset + count, actualBytes: fileSize)
        }
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, min(count - done, 1 << 30), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw IndexFileError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { throw IndexFileError.truncated(path: path, expectedBytes: offset + count, actualBytes: offset + done) }
            done += n
        }
        offset += count
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count)
        try b.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count) }
        return b
    }

    func readHeader(expecting kind: IndexFileKind? = nil) throws -> IndexFileHeader {
        guard fileSize >= IndexFileHeader.size else {
            // Too short for a header: say "not an index" when even the magic number is wrong.
            if fileSize >= 8, try readBytes(8) != IndexFileHeader.magic { throw IndexFileError.badMagic(path: path) }
            throw IndexFileError.truncated(path: path, expectedBytes: IndexFileHeader.size, actualBytes: fileSize)
        }
        let b = try readBytes(IndexFileHeader.size)
        func get<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            b.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
        }
        guard Array(b[0..<8]) == IndexFileHeader.magic else { throw IndexFileError.badMagic(path: path) }
        let version = get(8, UInt32.self)
        guard version == IndexFileHeader.version else {
            throw IndexFileError.unsupportedVersion(path: path, found: version, supported: IndexFileHeader.version)
        }
        let checksum = b.withUnsafeBytes { glimpse_checksum64($0.baseAddress, IndexFileHeader.size - 8, 0) }
        guard checksum == get(IndexFileHeader.size - 8, UInt64.self) else { throw IndexFileError.checksumMismatch(path: path, section: "header") }
        let rawKind = get(12, UInt32.self)
        guard let found = IndexFileKind(rawValue: rawKind) else {
            throw IndexFileError.corrupt(path: path, reason: "unknown index kind \(rawKind)")
        }
        if let kind, kind != found { throw IndexFileError.wrongKind(path: path, found: rawKind, expected: kind.rawValue) }
        let count = get(24, UInt64.self), live = get(32, UInt64.self)
        guard count < UInt64(UInt32.max), live <= count else {
            throw IndexFileError.corrupt(path: path, reason: "impossible element count \(count) (live \(live))")
        }
        let header = IndexFileHeader(
            kind: found, dimension: Int(get(16, UInt32.self)), M: Int(get(20, UInt32.self)), count: Int(count),
            liveCount: Int(live), efConstruction: Int(get(40, UInt32.self)), ef: Int(get(44, UInt32.self)),
            maxLevel: Int(get(48, Int32.self)), sectionCount: Int(get(52, UInt32.self)), entryPoint: Int(get(56, Int64.self)),
            generation: get(64, UInt64.self), levelSeed: get(72, UInt64.self),
            libraryID: b.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(fromByteOffset: 80, as: uuid_t.self)) })
        guard header.dimension > 0, header.dimension <= 1 << 16 else {
            throw IndexFileError.corrupt(path: path, reason: "impossible dimension \(header.dimension)")
        }
        return header
    }

    /// Reads the next section's header, which must carry `tag` and, when given, exactly `length` bytes.
    /// Returns the body length and checksum; the body is then read with `readBody`.
    func readSectionHeader(_ tag: SectionTag, length expected: Int? = nil) throws -> (length: Int, checksum: UInt64) {
        let b = try readBytes(24)
        func get<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            b.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
        }
        let found = get(0, UInt32.self)
        guard found == tag.rawValue else {
            let name = withUnsafeBytes(of: found.littleEndian) { String(decoding: $0, as: UTF8.self) }
            throw IndexFileError.corrupt(path: path, reason: "expected section \(tag.name), found \(name.debugDescription)")
        }
        let length = get(8, UInt64.self)
        if let expected, length != UInt64(expected) {
            throw IndexFileError.corrupt(path: path, reason: "section \(tag.name) has \(length) bytes, expected \(expected)")
        }
        guard length <= UInt64(fileSize - offset) else {
            throw IndexFileError.truncated(path: path, expectedBytes: offset + Int(clamping: length), actualBytes: fileSize)
        }
        return (Int(length), get(16, UInt64.self))
    }

    func readBody(_ tag: SectionTag, into buffer: UnsafeMutableRawPointer, length: Int, checksum: UInt64) throws {
        try read(into: buffer, length)
        guard glimpse_checksum64(length > 0 ? buffer : nil, length, UInt64(tag.rawValue)) == checksum else {
            throw IndexFileError.checksumMismatch(path: path, section: tag.name)
        }
    }

    /// Reads a whole section of exactly `length` bytes into `buffer`.
    func readSection(_ tag: SectionTag, into buffer: UnsafeMutableRawPointer, length: Int) throws {
        let (n, checksum) = try readSectionHeader(tag, length: length)
        try readBody(tag, into: buffer, length: n, checksum: checksum)
    }

    func finish() throws {
        guard offset == fileSize else {
            throw IndexFileError.corrupt(path: path, reason: "\(fileSize - offset) unexpected bytes after the last section")
        }
    }
}
