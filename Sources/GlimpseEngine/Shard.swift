/// One of N disjoint parts of a collection, so that N workers (`glimpse index --shard I/N`) split it with no
/// overlap and no coordination. A file belongs to shard `XXH64(path) mod N`: deciding costs no file read, and
/// every worker, on any machine, decides the same way for the same path.
///
/// Change detection stays per shard: a worker sees only its shard's stored images, so unchanged files, changes and
/// deletions are found as usual. A move within a shard keeps its embedding; a move to a path of another shard is
/// a removal in one and a new image in the other.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 0-based, below `count`.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else { throw ShardError.invalid("\(index)/\(count)") }
        self.index = index
        self.count = count
    }

    /// Parses "I/N" (e.g. "0/2" and "1/2" split a collection in two).
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else { throw ShardError.invalid(text) }
        try self.init(index: i, count: n)
    }

    public func contains(_ path: String) -> Bool {
        var utf8 = Array(path.utf8)
        let hash = utf8.withUnsafeMutableBytes { ContentHash.hash(UnsafeRawBufferPointer($0)) }
        return Int(hash % UInt64(count)) == index
    }

    public var description: String { "\(index)/\(count)" }
}

public enum ShardError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self {
        case let .invalid(text): "invalid shard \"\(text)\": expected I/N with 0 ≤ I < N, e.g. 0/2"
        }
    }
}
