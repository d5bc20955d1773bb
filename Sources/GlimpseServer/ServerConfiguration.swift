import Foundation

/// How `glimpse serve` listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Bearer token required on /api and /metrics (required when not listening on loopback).
    public var authToken: String?
    /// The one origin allowed to call the API from a browser (CORS is off when nil).
    public var corsOrigin: String?
    /// Largest request body accepted (uploads, JSON with base64 images).
    public var maxUploadBytes: Int
    /// Largest image accepted, in pixels (decompression-bomb guard for uploads).
    public var maxPixels: Int
    /// Results per page when a search gives no limit, and the most one may ask for.
    public var defaultLimit: Int
    public var maxLimit: Int
    /// How many text queries the encoder takes at once.
    public var maxQueryBatch: Int
    /// Longest text query accepted, in bytes of UTF-8 (longer ones are refused before tokenization: the model
    /// reads at most 77 tokens, a few hundred bytes).
    public var maxQueryBytes: Int
    /// Images decoded at once (uploads, searches by image); more requests wait their turn.
    public var maxConcurrentDecodes: Int
    /// Seconds between a write (upload, delete, rescan) and writing the index file in the background.
    public var checkpointDelay: Double
    /// `FROM=TO` pairs: a stored path starting with FROM is read from TO… on this machine (servers that mount the
    /// collection elsewhere than the indexer did). The first match wins.
    public var pathPrefixMap: [(from: String, to: String)] = []

    public init(host: String = "127.0.0.1", port: Int = 8080, authToken: String? = nil, corsOrigin: String? = nil,
                maxUploadBytes: Int = 20 * 1024 * 1024, maxPixels: Int = 50_000_000, defaultLimit: Int = 30,
                maxLimit: Int = 500, maxQueryBatch: Int = 16, maxQueryBytes: Int = 4096,
                maxConcurrentDecodes: Int = max(1, ProcessInfo.processInfo.activeProcessorCount), checkpointDelay: Double = 5) {
        self.host = host; self.port = port; self.authToken = authToken; self.corsOrigin = corsOrigin
        self.maxUploadBytes = maxUploadBytes; self.maxPixels = maxPixels; self.defaultLimit = defaultLimit
        self.maxLimit = maxLimit; self.maxQueryBatch = maxQueryBatch
        self.maxQueryBytes = maxQueryBytes; self.maxConcurrentDecodes = maxConcurrentDecodes
        self.checkpointDelay = checkpointDelay
    }

    /// True for 127.0.0.0/8, ::1 and localhost: the only hosts that may be bound without a token.
    public static func isLoopback(_ host: String) -> Bool {
        SameOriginMiddleware.isLoopbackAddress(host) || SameOriginMiddleware.isLoopbackAuthority(host)
    }
}
