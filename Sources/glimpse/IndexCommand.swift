import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseImage
import GlimpseModels
import GlimpseSources
import GlimpseStore

/// `glimpse index PATH...`: bring the library up to date with folders of images.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Add folders, image lists or S3 prefixes to the library, or bring it up to date with them.",
        discussion: """
            Unchanged files (same size and modification time) are skipped, moved or renamed files keep their embedding, \
            and files deleted from these folders leave the library. Files that cannot be read are listed at the end; \
            they never stop the run. Ctrl-C stops after the current batch, keeping everything indexed so far.

            --list FILE indexes a CSV, TSV or JSON Lines list of image URLs (http, https, file, s3; gzip'd lists too), \
            with its other columns as metadata that `search --where` filters on. Unsplash's photos.tsv* and Conceptual \
            Captions' TSV are recognised without flags. Rows already indexed with the same id and URL are not fetched \
            again; rows that left the list leave the library (--keep-removed keeps them). Dead links, error pages and \
            non-images are reported per row. Private and loopback addresses are refused unless --allow-private-network.

            s3://bucket/prefix/ indexes the objects under a prefix, with credentials from AWS_ACCESS_KEY_ID / \
            AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or ~/.aws/credentials, AWS_REGION, and AWS_ENDPOINT_URL for \
            S3-compatible stores.
            """)

    @Argument(help: "Folders, image files, or s3://bucket/prefix/ to index.")
    var paths: [String] = []

    @Option(name: .customLong("list"), help: ArgumentHelp("A list of image URLs to index: .csv, .tsv or .jsonl, gzip'd or not (repeatable).", valueName: "file"))
    var lists: [String] = []

    @Option(help: "The list's URL column (default: detected by name, else the first column holding URLs).")
    var urlColumn: String?

    @Option(help: "The list's id column, the images' identity (default: id, image_id, photo_id or key when present, else the URL).")
    var idColumn: String?

    @Option(help: "The list's caption column, stored as metadata \"caption\" (default: caption, description, text, title, … when present).")
    var captionColumn: String?

    @Option(help: ArgumentHelp("The list's columns kept as metadata, comma-separated, or all (the default).", valueName: "a,b,c|all"))
    var metadataColumns = "all"

    @Option(help: ArgumentHelp("Keep downloaded originals in this folder, so that a re-index never downloads them again.", valueName: "dir"))
    var cache: String?

    @Flag(help: "Keep images whose rows left the list (or objects that left the S3 prefix).")
    var keepRemoved = false

    @Flag(help: "Ask the server whether already indexed URLs changed (If-None-Match / If-Modified-Since) and fetch those that did.")
    var revalidate = false

    @Flag(help: "Allow URLs on private, loopback and link-local addresses (refused by default, so a list cannot probe your network).")
    var allowPrivateNetwork = false

    @Option(help: "Downloads in flight at once.")
    var parallelDownloads = 16

    @Option(help: "Connections to one host at once.")
    var connectionsPerHost = 8

    @Option(help: "Largest image downloaded, in megabytes.")
    var maxDownloadMb: Double = 50

    @Option(help: "Seconds to wait for a server's next bytes before retrying.")
    var timeout: Double = 30

    @Option(help: "Retries of a download after 429, 5xx, timeouts or dropped connections (with back-off, honouring Retry-After).")
    var retries = 3

    @Flag(help: "Only download and check the list's images (no model, nothing stored): how fast and how healthy the list is.")
    var dryRun = false

    @Option(help: .hidden)
    var s3PageSize = 1000

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
        if paths.isEmpty && lists.isEmpty { throw ValidationError("Give at least one folder, image, --list file or s3:// prefix to index.") }
        if dryRun && paths.contains(where: { !$0.hasPrefix("s3://") }) { throw ValidationError("--dry-run checks lists and S3 prefixes, not folders.") }
        if parallelDownloads < 1 || connectionsPerHost < 1 { throw ValidationError("--parallel-downloads and --connections-per-host must be at least 1.") }
        if maxDownloadMb <= 0 || timeout <= 0 || retries < 0 { throw ValidationError("--max-download-mb and --timeout must be positive, --retries not negative.") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1.") }
        if maxPixels < 1 { throw ValidationError("--max-pixels must be positive.") }
        if !captions && (captionModel != nil || sentenceModel != nil) {
            throw ValidationError("--caption-model and --sentence-model need --captions.")
        }
        if let shard { do { _ = try Shard(shard) } catch { throw ValidationError("--shard: \(error)") } }
    }

    func run() async throws {
        if dryRun { return try await runDry() }
        let (name, model) = try await modelOptions.load()
        let embedder: Embedder
        do { embedder = try Embedder(model: model, decoder: ImageDecoder(maxPixels: maxPixels)) } catch {
            throw CLIError("cannot index with \(name): \(error)")
        }
        let store = try await libraryOptions.open(create: true)
        var summary: IndexSummary
        // The downloader for lists and S3 (and the captioning of their images); shut down on every way out.
        var remote: ListIndexer?
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
            let folders = paths.filter { !$0.hasPrefix("s3://") }
            summary = folders.isEmpty ? IndexSummary() : try await indexer.index(roots: folders, shouldStop: { interrupt.requested })
            if !lists.isEmpty || folders.count < paths.count || captions {
                let lister = try makeListIndexer(store: store, embedder: embedder)
                remote = lister
                lister.shard = indexer.shard
                lister.progress = ProgressBar(label: "fetching")
                lister.thumbnails = indexer.thumbnails
                if !summary.interrupted {
                    for source in try await remoteSources(s3: lister.fetcher.s3) where !summary.interrupted {
                        summary.merge(try await lister.index(source, shouldStop: { interrupt.requested }))
                    }
                }
            }
            if captions && !summary.interrupted {
                let captionIndexer = try await CaptionModels.load(captionModel: captionModel, sentenceModel: sentenceModel, store: store,
                                                                  generation: generation, maxPixels: maxPixels)
                captionIndexer.shard = indexer.shard
                // Images from lists and S3 are captioned from their originals (cached, else fetched again).
                if let remote { captionIndexer.remote = (remote.fetcher, remote.cache) }
                captionIndexer.progress = ProgressBar(label: "captioning")
                let captioned = try await captionIndexer.run(shouldStop: { interrupt.requested })
                summary.captioned = captioned.captioned
                summary.failed += captioned.failed
                summary.interrupted = captioned.interrupted
            }
            if let remote { await remote.fetcher.shutdown() }
            remote = nil
            summary.precision = embedder.precision.rawValue
            summary.libraryPrecisions = try await store.precisions()
            // The embedded store's index file, so that the next search starts fast.
            try await store.refresh()
            try await store.checkpoint()
            await store.close()
        } catch {
            if let remote { await remote.fetcher.shutdown() }
            await store.close()
            throw CLIError("\(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print("added \(summary.added), updated \(summary.updated), moved \(summary.moved), removed \(summary.removed), unchanged \(summary.unchanged), failed \(summary.failed.count)"
                  + (summary.fetched.map { ", downloaded \($0)" } ?? "") + (summary.captioned.map { ", captioned \($0)" } ?? ""))
            for failure in summary.failed { print("  failed: \(failure)") }
            if summary.interrupted { print("interrupted: run `glimpse index` again to finish") }
            if let mixed = summary.libraryPrecisions, mixed.count > 1 {
                print("note: this library's vectors were made in \(mixed.joined(separator: " and ")) (mixed precisions agree to cosine ≥ 0.999; `--precision` picks the one new vectors use)")
            }
        }
        if summary.interrupted { throw ExitCode(130) }
    }
}

extension IndexCommand {
    var listOptions: ListOptions {
        ListOptions(urlColumn: urlColumn, idColumn: idColumn, captionColumn: captionColumn,
                    metadataColumns: metadataColumns == "all" ? nil
                        : metadataColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    func makeListIndexer(store: (any ImageStore)?, embedder: Embedder?) throws -> ListIndexer {
        var configuration = ImageFetcher.Configuration()
        configuration.policy = NetworkPolicy(allowPrivateNetwork: allowPrivateNetwork)
        configuration.maxBytes = Int64(maxDownloadMb * 1024 * 1024)
        configuration.connectionsPerHost = connectionsPerHost
        configuration.readTimeout = timeout
        configuration.connectTimeout = min(timeout, 10)
        configuration.requestTimeout = max(timeout * 4, 60)
        configuration.retries = retries
        // S3 credentials are needed for s3:// prefixes (an error now) and for s3:// rows of lists (without them,
        // each such row fails with the reason).
        var s3: S3Client?
        do { s3 = try S3Client.fromEnvironment() } catch {
            if paths.contains(where: { $0.hasPrefix("s3://") }) { throw CLIError("\(error)") }
        }
        s3?.pageSize = s3PageSize
        let downloads = try DownloadCache(directory: cache ?? DownloadCache.defaultDirectory(), keep: cache != nil)
        let indexer = ListIndexer(store: store, embedder: embedder, fetcher: ImageFetcher(configuration: configuration, s3: s3), cache: downloads)
        indexer.parallelFetches = parallelDownloads
        indexer.batchSize = embedder == nil ? max(batchSize, 4 * parallelDownloads) : batchSize
        indexer.keepRemoved = keepRemoved
        indexer.revalidate = revalidate
        return indexer
    }

    /// The lists and S3 prefixes to index, read (and listed) now.
    func remoteSources(s3: S3Client?) async throws -> [RemoteSource] {
        var sources: [RemoteSource] = []
        for list in lists {
            do { sources.append(try RemoteSource.list(path: list, options: listOptions)) } catch { throw CLIError("\(error)") }
        }
        for prefix in paths where prefix.hasPrefix("s3://") {
            guard let s3 else { throw CLIError("no S3 client for \(prefix)") }
            do { sources.append(try await RemoteSource.s3(prefix: prefix, client: s3)) } catch { throw CLIError("\(error)") }
        }
        return sources
    }

    /// `--dry-run`: downloads and checks every row, stores nothing.
    func runDry() async throws {
        let remote = try makeListIndexer(store: nil, embedder: nil)
        remote.progress = ProgressBar(label: "fetching")
        let interrupt = Interrupt()
        interrupt.install()
        var summary = IndexSummary()
        let started = Date()
        do {
            for source in try await remoteSources(s3: remote.fetcher.s3) { summary.merge(try await remote.index(source, shouldStop: { interrupt.requested })) }
        } catch {
            await remote.fetcher.shutdown()
            throw error
        }
        await remote.fetcher.shutdown()
        let seconds = Date().timeIntervalSince(started)
        let rows = summary.added + summary.failed.count
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var text = String(decoding: try encoder.encode(summary), as: UTF8.self)
            text.removeLast()
            print(text + ",\"seconds\":\(seconds),\"rows_per_second\":\(seconds > 0 ? Double(rows) / seconds : 0)}")
        } else {
            print("dry run: fetched \(summary.added) images, failed \(summary.failed.count), in \(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", Double(rows) / max(seconds, 1e-9))) rows/s)")
            for failure in summary.failed { print("  failed: \(failure)") }
        }
        if summary.interrupted { throw ExitCode(130) }
    }
}
