import Foundation

/// The folders (or files) a library was built from, so that an image's path can be shown relative to its
/// collection root (`holiday/beach.jpg` rather than `/home/me/Pictures/holiday/beach.jpg`), and so that a
/// rescan knows what to scan.
extension Library {
    static let collectionRootsKey = "collection.roots"

    /// Absolute roots passed to `glimpse index` (and the uploads folder once something was uploaded), in the
    /// order they were first recorded.
    public func collectionRoots() throws -> [String] {
        guard let json = try setting(Self.collectionRootsKey) else { return [] }
        return (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }

    /// Records roots (absolute paths), keeping the ones already recorded.
    public func addCollectionRoots(_ roots: [String]) throws {
        var all = try collectionRoots()
        for root in roots where !all.contains(root) { all.append(root) }
        let json = String(decoding: try JSONEncoder().encode(all), as: UTF8.self)
        try setSetting(Self.collectionRootsKey, json)
    }

    /// `path` relative to the deepest recorded root holding it; the file name when no root does (or when the
    /// root is the file itself).
    public static func relativePath(_ path: String, roots: [String]) -> String {
        var best: String?
        for root in roots {
            let prefix = root.hasSuffix("/") ? root : root + "/"
            if path.hasPrefix(prefix), best.map({ prefix.count > $0.count }) ?? true { best = prefix }
        }
        if let best { return String(path.dropFirst(best.count)) }
        return (path as NSString).lastPathComponent
    }

    /// Where thumbnails made at index time live: `thumbnails/ID.jpg`.
    public var thumbnailDirectory: String { (directory as NSString).appendingPathComponent("thumbnails") }

    public func thumbnailPath(id: Int64) -> String {
        (thumbnailDirectory as NSString).appendingPathComponent("\(id).jpg")
    }
}
