import Hummingbird

/// The request context of every Glimpse route (tests drive the router with it, no socket needed).
public struct GlimpseRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Bodies are collected explicitly by the handlers, against `ServerConfiguration.maxUploadBytes`.
    public var maxUploadSize: Int { 64 * 1024 * 1024 }
}
