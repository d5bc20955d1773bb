import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseImage
import GlimpseModels
import GlimpseStore

/// `glimpse index PATH...`: bring the library up to date with folders of images.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Add folders of images to the library, or bring it up to date with them.",
        discussion: """
            Unchanged files (same size and modification time) are skipped, moved or renamed files keep their embedding, \
            and files deleted from these folders leave the library. Files that cannot be read are listed at the end; \
            they never stop the run. Ctrl-C stops after the current batch, keeping everything indexed so far.
            """)

    @Argument(help: "Folders or image files to index.")
    var paths: [String]

    @OptionGroup var libraryOptions: LibraryOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Images per model batch.")
    var batchSize = 32

    @Option(help: "Refuse images with more pixels than this (decompression bombs).")
    var maxPixels = 100_000_000

    @Flag(help: "Also caption every new or changed image and embed the caption, for `search --path caption|hybrid`.")
    var captions = false

    @Option(help: "The captioning model (default $GLIMPSE_CAPTION_MODEL, else \(CaptionModelName.defaultModel)).")
    var captionModel: String?

    @Option(help: "The sentence encoder captions are embedded with (default: the library's, else \(SentenceModelName.defaultModel); sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 for queries in other languages).")
    var sentenceModel: String?

    @OptionGroup var generation: GenerationOptions

    @Flag(help: "Print one JSON summary object.")
    var json = false

    @Option(help: ArgumentHelp("Index only the files of shard I of N (e.g. 0/2 and 1/2 on two machines split one collection).",
                               valueName: "I/N"))
    var shard: String?

    func validate() throws {
        if paths.isEmpty { throw ValidationError("Give at least one folder or image to index.") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1.") }
        if maxPixels < 1 { throw ValidationError("--max-pixels must be positive.") }
        if !captions && (captionModel != nil || sentenceModel != nil) {
            throw ValidationError("--caption-model and --sentence-model need --captions.")
        }
        if let shard { do { _ = try Shard(shard) } catch { throw ValidationError("--shard: \(error)") } }
    }

    func run() async throws {
        let (name, model) = try await modelOptions.load()
        let embedder: Embedder
        do { embedder = try Embedder(model: model, decoder: ImageDecoder(maxPixels: maxPixels)) } catch {
            throw CLIError("cannot index with \(name): \(error)")
        }
        let store = try await libraryOptions.open(create: true)
        var summary: IndexSummary
        do {
            try await store.bindModel(name: name, fingerprint: try ModelFingerprint.of(directory: model.directory),
                                      dimension: embedder.embeddingDim)
            let indexer = Indexer(store: store, embedder: embedder, batchSize: batchSize)
            indexer.shard = try shard.map(Shard.init)
            let bar = ProgressBar(label: "indexing")
            indexer.progress = bar
            indexer.thumbnails = ThumbnailWriter(decoder: ImageDecoder(maxPixels: maxPixels))
            let interrupt = Interrupt()
            interrupt.install()
            summary = try await indexer.index(roots: paths, shouldStop: { interrupt.requested })
            if captions && !summary.interrupted {
                let captionIndexer = try await CaptionModels.load(captionModel: captionModel, sentenceModel: sentenceModel, store: store,
                                                                  generation: generation, maxPixels: maxPixels)
                captionIndexer.shard = indexer.shard
                captionIndexer.progress = ProgressBar(label: "captioning")
                let captioned = try await captionIndexer.run(shouldStop: { interrupt.requested })
                summary.captioned = captioned.captioned
                summary.failed += captioned.failed
                summary.interrupted = captioned.interrupted
            }
            // The embedded store's index file, so that the next search starts fast.
            try await store.refresh()
            try await store.checkpoint()
            await store.close()
        } catch {
            await store.close()
            throw CLIError("\(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print("added \(summary.added), updated \(summary.updated), moved \(summary.moved), removed \(summary.removed), unchanged \(summary.unchanged), failed \(summary.failed.count)"
                  + (summary.captioned.map { ", captioned \($0)" } ?? ""))
            for failure in summary.failed { print("  failed: \(failure.path): \(failure.error)") }
            if summary.interrupted { print("interrupted: run `glimpse index` again to finish") }
        }
        if summary.interrupted { throw ExitCode(130) }
    }
}
