import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file found by a scan, with what change detection compares.
public struct ScannedFile: Sendable, Equatable {
    public let path: String
    public let size: Int64
    public let mtimeNanoseconds: Int64
}

/// A path that could not be scanned or indexed, and why.
public struct IndexFailure: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public let path: String
    public let error: String
    /// For a list's row: its id (when it has one) and URL.
    public var id: String?
    public var url: String?
    public init(path: String, error: String, id: String? = nil, url: String? = nil) {
        self.path = path; self.error = error; self.id = id; self.url = url
    }
    public var description: String { url.map { "\(id.map { $0 + " " } ?? "")\($0): \(error)" } ?? "\(path): \(error)" }
}

/// Walks folders for image files. Follows symbolic links but visits each directory once (so loops end),
/// and reports unreadable folders, broken links and files that vanish mid-scan instead of stopping.
public struct FileScanner: Sendable {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "tif", "tiff", "bmp",
                                                      "heic", "heif", "avif"]
    public var extensions: Set<String> = FileScanner.imageExtensions

    public init() {}

    public func scan(_ roots: [String]) -> (files: [ScannedFile], failures: [IndexFailure]) {
        var files: [ScannedFile] = []
        var failures: [IndexFailure] = []
        var visited = Set<[UInt64]>()  // (device, inode) of directories already walked
        var seenFiles = Set<String>()

        func visit(_ path: String, explicit: Bool) {
            var info = stat()
            guard stat(path, &info) == 0 else {
                let reason = errno == ENOENT ? (lstat(path, &info) == 0 ? "broken symbolic link" : "no such file or directory")
                                             : String(cString: strerror(errno))
                failures.append(IndexFailure(path: path, error: reason))
                return
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                guard visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { return }  // symlink loop
                guard let dir = opendir(path) else {
                    failures.append(IndexFailure(path: path, error: "cannot read folder: \(String(cString: strerror(errno)))"))
                    return
                }
                var names: [String] = []
                while let entry = readdir(dir) {
                    let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
                    if name == "." || name == ".." || name.hasPrefix(".") { continue }
                    names.append(name)
                }
                closedir(dir)
                for name in names.sorted() { visit(path == "/" ? "/" + name : path + "/" + name, explicit: false) }
            } else if (info.st_mode & S_IFMT) == S_IFREG {
                let ext = (path as NSString).pathExtension.lowercased()
                guard explicit || extensions.contains(ext) else { return }
                guard seenFiles.insert(path).inserted else { return }
                let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
                files.append(ScannedFile(path: path, size: Int64(info.st_size), mtimeNanoseconds: mtime))
            }
        }
        for root in roots { visit(Self.absolute(root), explicit: true) }
        return (files, failures)
    }

    /// An absolute, standardised path (no trailing slash, no "." or ".." components).
    public static func absolute(_ path: String) -> String {
        let base = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in base.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
