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
    /// True when the run was interrupted (Ctrl-C) before it finished; what it committed stays.
    public var interrupted = false

    public init() {}

    enum CodingKeys: String, CodingKey { case added, updated, moved, removed, unchanged, failed, captioned }
}
