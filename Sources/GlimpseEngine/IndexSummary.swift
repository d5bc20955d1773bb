/// What one `glimpse index` run did.
public struct IndexSummary: Codable, Sendable, Equatable {
    public var added = 0
    public var updated = 0
    public var moved = 0
    public var removed = 0
    public var unchanged = 0
    public var failed: [IndexFailure] = []
    /// Images captioned by this run (nil when it made no captions).
    public var captioned: Int?
    /// Images downloaded by this run (lists and S3; nil for folders).
    public var fetched: Int?
    /// Stored images whose list row changed only in its metadata (updated without fetching).
    public var metadataUpdated: Int?
    /// True when the run was interrupted (Ctrl-C) before it finished; what it committed stays.
    public var interrupted = false
    /// The precision this run's vectors were made in, and every precision the library's vectors were made in
    /// (more than one: mixed, which search allows since they agree to cosine ≥ 0.999).
    public var precision: String?
    public var libraryPrecisions: [String]?

    public init() {}

    /// Adds another run's counts (a list indexed after the folders of the same command).
    public mutating func merge(_ other: IndexSummary) {
        added += other.added; updated += other.updated; moved += other.moved; removed += other.removed
        unchanged += other.unchanged; failed += other.failed; interrupted = interrupted || other.interrupted
        if let f = other.fetched { fetched = (fetched ?? 0) + f }
        if let m = other.metadataUpdated { metadataUpdated = (metadataUpdated ?? 0) + m }
        if let c = other.captioned { captioned = (captioned ?? 0) + c }
    }

    enum CodingKeys: String, CodingKey { case added, updated, moved, removed, unchanged, failed, captioned, fetched, metadataUpdated = "metadata_updated", precision
        case libraryPrecisions = "library_precisions" }
}
