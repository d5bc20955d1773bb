import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseStore

/// `glimpse export`: the whole collection, embeddings and thumbnails included, as JSON Lines on stdout.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the collection (records, embeddings, thumbnails) as JSON Lines to stdout.",
        discussion: "glimpse export --library DIR | glimpse import --store postgres://… (or milvus://…) moves a library without re-embedding.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Flag(help: "Leave thumbnails out (smaller; they are made again on demand).")
    var noThumbnails = false

    func run() async throws {
        let store = try await libraryOptions.open(create: false)
        let output = FileHandle.standardOutput
        do {
            let count = try await StoreTransfer.export(store, thumbnails: !noThumbnails) { output.write(Data($0.utf8)) }
            FileHandle.standardError.write(Data("exported \(count) images from \(store.location)\n".utf8))
            await store.close()
        } catch {
            await store.close()
            throw CLIError("\(error)")
        }
    }
}

/// `glimpse import`: reads what `glimpse export` wrote into this store.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read a collection written by `glimpse export` (stdin, or --input FILE) into this store, without re-embedding.",
        discussion: "The store must be new or built with the same model. Images are matched by path: importing twice changes nothing.")

    @OptionGroup var libraryOptions: LibraryOptions

    @Option(help: "Read this file instead of stdin.")
    var input: String?

    func run() async throws {
        let path = input ?? "/dev/stdin"
        guard let file = fopen(path, "r") else { throw CLIError("\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        let store = try await libraryOptions.open(create: true)
        do {
            let count = try await StoreTransfer.import(into: store) { Self.readLine(file) }
            try await store.refresh()
            try await store.checkpoint()
            FileHandle.standardError.write(Data("imported \(count) images into \(store.location)\n".utf8))
            await store.close()
        } catch {
            await store.close()
            throw CLIError("\(error)")
        }
    }

    /// One line without its newline (any length), nil at the end.
    static func readLine(_ file: UnsafeMutablePointer<FILE>) -> String? {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        let length = getline(&buffer, &capacity, file)
        guard length >= 0, let buffer else { return nil }
        var line = String(cString: buffer)
        if line.hasSuffix("\n") { line.removeLast() }
        return line
    }
}
