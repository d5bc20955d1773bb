import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseServer
import GlimpseStore
import Logging

/// `glimpse serve`: the HTTP API and the web UI over a library.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the library over HTTP: a search page at /, a JSON API under /api (described at /openapi.json).",
        discussion: """
            Listens on 127.0.0.1 unless --host says otherwise; any other address needs --auth-token, which the API \
            then requires as a bearer token (the page asks for it once). Ctrl-C finishes in-flight requests and stops.
            """)

    @OptionGroup var libraryOptions: LibraryOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var textModelOptions: TextModelOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @Option(help: "Bearer token required on the API (required when --host is not a loopback address; default $GLIMPSE_AUTH_TOKEN).")
    var authToken: String?

    @Option(help: "Allow this origin to call the API from a browser (CORS is off by default).")
    var cors: String?

    @Option(help: "Largest upload accepted, in MB.")
    var maxUploadMb = 20

    @Option(help: "Refuse images with more pixels than this (decompression bombs).")
    var maxPixels = 50_000_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    var token: String? {
        authToken ?? ProcessInfo.processInfo.environment["GLIMPSE_AUTH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        if !(1...65535).contains(port) { throw ValidationError("--port must be in 1...65535.") }
        if maxUploadMb < 1 { throw ValidationError("--max-upload-mb must be at least 1.") }
        if maxPixels < 1 { throw ValidationError("--max-pixels must be positive.") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown --log-level \(logLevel).") }
        if !ServerConfiguration.isLoopback(host) && token == nil {
            throw ValidationError("Listening on \(host) exposes the library to the network: give --auth-token TOKEN (or $GLIMPSE_AUTH_TOKEN).")
        }
        if let token, token.count < 8 { throw ValidationError("--auth-token must be at least 8 characters.") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "glimpse.serve")

        let opened = try await OpenedLibrary.open(libraryOptions.directory, create: true, modelOptions: modelOptions, textModel: textModelOptions.name)
        let library = opened.library, embedder = opened.embedder, modelName = opened.modelName

        let configuration = ServerConfiguration(host: host, port: port, authToken: token, corsOrigin: cors,
                                                maxUploadBytes: maxUploadMb * 1024 * 1024, maxPixels: maxPixels)
        let service = try LibraryService(library: library, embedder: embedder, modelName: modelName, textModelName: opened.textModelName, configuration: configuration)
        logger.info("library loaded", metadata: [
            "library": .string(library.directory), "images": .stringConvertible(service.index.vectors.count),
            "model": .string(modelName), "text_model": .string(opened.textModelName ?? modelName), "url": .string("http://\(host.contains(":") ? "[\(host)]" : host):\(port)/"),
        ])
        try await GlimpseServer.run(service: service, logger: logger)
    }
}
