import ArgumentParser
import Foundation
import GlimpseStore

/// `--library DIR` or `--store URL`, shared by the commands that read or write a collection.
struct LibraryOptions: ParsableArguments {
    @Option(help: "Library folder (default: $GLIMPSE_LIBRARY, else $XDG_DATA_HOME/glimpse/library).")
    var library: String?

    @Option(help: ArgumentHelp(
        "Keep the collection in a database instead of a library folder (default: $GLIMPSE_STORE).",
        discussion: """
            postgres://user[:password]@host[:port]/database[?schema=NAME&sslmode=require&vector=halfvec]
            milvus://[user:password@]host[:port]/COLLECTION[?token=…&db=…&consistency=bounded|strong|eventually] (milvus+tls:// for TLS)
            """,
        valueName: "url"))
    var store: String?

    func validate() throws {
        if library != nil && store != nil { throw ValidationError("Give --library or --store, not both.") }
    }

    /// --store, else --library, else $GLIMPSE_STORE, else the default library folder.
    func location() throws -> StoreLocation {
        let environment = ProcessInfo.processInfo.environment
        let url = store ?? (library == nil ? environment["GLIMPSE_STORE"].flatMap { $0.isEmpty ? nil : $0 } : nil)
        do {
            if let url { return try StoreLocation(url) }
        } catch { throw CLIError("\(error)") }
        return .folder(library ?? Library.defaultDirectory())
    }

    func open(create: Bool) async throws -> any ImageStore {
        do { return try await location().open(create: create) } catch let error as CLIError { throw error } catch {
            throw CLIError("\(error)")
        }
    }
}
