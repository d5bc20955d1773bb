import Hummingbird
import Logging

/// `glimpse serve`: the HTTP API and the web UI over one library, as a Hummingbird application with graceful
/// shutdown on SIGINT/SIGTERM (swift-service-lifecycle).
public enum GlimpseServer {
    public static func application(service: LibraryService, logger: Logger) -> some ApplicationProtocol {
        let configuration = service.configuration
        return Application(router: Routes.router(service),
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                                serverName: "glimpse"),
                           logger: logger)
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests and stops background work.
    public static func run(service: LibraryService, logger: Logger) async throws {
        let app = application(service: service, logger: logger)
        do { try await app.runService() } catch {
            await service.shutdown()
            throw error
        }
        await service.shutdown()
    }
}
