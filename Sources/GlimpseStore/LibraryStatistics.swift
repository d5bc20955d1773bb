import Foundation

/// Counts the work of a library's reads whose cost grows with the library (rows of the catalog or the change
/// log fetched), so tests can check that a small write reads a little, whatever the library's size.
public final class LibraryStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var rows = 0

    /// Rows fetched by catalog scans and change queries since the library was opened.
    public var rowsRead: Int { lock.withLock { rows } }

    func read(rows count: Int) { lock.withLock { rows += count } }
}
