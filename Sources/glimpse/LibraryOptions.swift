import ArgumentParser
import GlimpseStore

/// `--library DIR`, shared by the commands that read or write a library.
struct LibraryOptions: ParsableArguments {
    @Option(help: "Library folder (default: $GLIMPSE_LIBRARY, else $XDG_DATA_HOME/glimpse/library).")
    var library: String?

    var directory: String { library ?? Library.defaultDirectory() }
}
