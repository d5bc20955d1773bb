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

    @Option(help: ArgumentHelp("Read stored paths starting with FROM from TO on this machine (repeatable), for servers that mount the collection elsewhere than the indexer did.", valueName: "FROM=TO"))
    var pathPrefixMap: [String] = []

    @Option(help: "Folder for uploaded images (default: the library's uploads/; with --store, uploads are refused unless given: use a folder every server sees).")
    var uploads: String?

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
        for pair in pathPrefixMap where Self.prefixPair(pair) == nil {
            throw ValidationError("--path-prefix-map takes FROM=TO with both sides non-empty, got \(pair.debugDescription).")
        }
    }

    static func prefixPair(_ text: String) -> (from: String, to: String)? {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex else { return nil }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "glimpse.serve")

        let opened = try await OpenedLibrary.open(libraryOptions, create: true, modelOptions: modelOptions, textModel: textModelOptions.name)
        let store = opened.store, embedder = opened.embedder, modelName = opened.modelName

        var configuration = ServerConfiguration(host: host, port: port, authToken: token, corsOrigin: cors,
                                                maxUploadBytes: maxUploadMb * 1024 * 1024, maxPixels: maxPixels)
        configuration.pathPrefixMap = pathPrefixMap.compactMap(Self.prefixPair)
        var uploadsDirectory = uploads
        if uploadsDirectory == nil, let embedded = store as? EmbeddedStore {
            uploadsDirectory = (embedded.library.directory as NSString).appendingPathComponent("uploads")
        }
        // Caption and hybrid search when the library has captions; a sentence model that cannot be loaded only
        // leaves those paths off.
        var captionText: (any TextEncoder)?
        do { captionText = try await CaptionModels.storeSentenceEncoder(store) } catch {
            FileHandle.standardError.write(Data("warning: caption search is off: \(error)\n".utf8))
        }
        let service: LibraryService
        do {
            service = try await LibraryService(store: store, embedder: embedder, modelName: modelName, textModelName: opened.textModelName,
                                               captionText: captionText, uploadsDirectory: uploadsDirectory, configuration: configuration)
        } catch {
            await store.close()
            throw CLIError("\(error)")
        }
        let images = (try? await store.imageCount()) ?? 0
        logger.info("library loaded", metadata: [
            "store": .string(store.location), "images": .stringConvertible(images),
            "model": .string(modelName), "text_model": .string(opened.textModelName ?? modelName), "url": .string("http://\(host.contains(":") ? "[\(host)]" : host):\(port)/"),
        ])
        try await GlimpseServer.run(service: service, logger: logger)
    }
}
