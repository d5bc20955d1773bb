import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseModels
import GlimpseStore

extension SearchPath: ExpressibleByArgument {}

/// `glimpse search "query"` or `glimpse search --image query.jpg`.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find images in the library by describing them, or by an example image.")

    @Argument(help: "What to look for, e.g. \"two children running in front of a house\".")
    var query: String?

    @Option(help: "Search by this example image instead of a text.")
    var image: String?

    @Option(help: "Number of results.")
    var limit = 10

    @Option(help: "Only results scoring at least this (cosine similarity, -1...1).")
    var minScore: Float?

    @Option(help: "Candidates an approximate (HNSW) search considers: higher finds more of the true nearest, slower.")
    var ef: Int?

    @Option(help: "How a text query finds images: clip (image embeddings), caption (caption embeddings; index with --captions), or hybrid (both rankings fused).")
    var path: SearchPath = .clip

    @Option(help: "How hybrid fuses the two rankings: rrf[:K] (reciprocal rank fusion, K = 60) or weighted[:W] (min-max normalised scores, W = CLIP's weight, 0.5).")
    var fusion: String = RankFusion.default.name

    @Option(name: .customLong("where"), help: ArgumentHelp(
        "Only images whose metadata satisfies this clause (repeatable; all must hold): 'photographer = \"Jane\"', 'year >= 2020', 'keywords contains \"beach\"', 'format in (\"png\", \"webp\")'. Operators: = != < <= > >= in contains.",
        valueName: "clause"))
    var clauses: [String] = []

    @OptionGroup var libraryOptions: LibraryOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var textModelOptions: TextModelOptions

    @Flag(help: "Print a JSON array of {\"id\", \"path\", \"url\", \"score\", \"probability\", \"caption\", \"metadata\"}, best first (score: cosine similarity; probability: a SigLIP model's own match probability, for text queries on the clip path; url only for images fetched from a list or S3, caption only when the image has one).")
    var json = false

    @Flag(help: "Show thumbnails in terminals that support inline images (iTerm2, WezTerm, kitty).")
    var preview = false

    func validate() throws {
        if (query == nil) == (image == nil) { throw ValidationError("Give either a text query or --image PATH.") }
        if let query, query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("The query is empty.") }
        if limit < 1 { throw ValidationError("--limit must be at least 1.") }
        if let ef, !(1...1000).contains(ef) { throw ValidationError("--ef must be in 1...1000.") }
        if RankFusion(fusion) == nil { throw ValidationError("--fusion must be rrf, rrf:K, weighted or weighted:W (0 ≤ W ≤ 1).") }
        if image != nil && path != .clip { throw ValidationError("--image searches by CLIP embedding: leave out --path.") }
        do { _ = try MetadataFilter(parsing: clauses) } catch { throw ValidationError("--where: \(error)") }
    }

    func run() async throws {
        let opened = try await OpenedLibrary.open(libraryOptions, create: false, modelOptions: modelOptions, textModel: textModelOptions.name,
                                                  captions: path != .clip)
        let store = opened.store
        let searcher = Searcher(store: store, embedder: opened.embedder, captionText: opened.captionText)
        searcher.fusion = RankFusion(fusion)!
        let hits: [SearchHit]
        let filter = clauses.isEmpty ? nil : try MetadataFilter(parsing: clauses)
        do {
            try await store.refresh()
            try? await store.checkpoint()  // a cache: a read-only library still searches
            if let image { hits = try await searcher.search(imagePath: image, limit: limit, minScore: minScore, ef: ef, filter: filter) }
            else { hits = try await searcher.search(text: query ?? "", limit: limit, path: path, minScore: minScore, ef: ef, filter: filter) }
            await store.close()
        } catch {
            await store.close()
            throw CLIError("\(error)")
        }
        if json {
            let objects = hits.map { hit -> String in
                var fields: [(String, String)] = [("id", JSONLine.string(hit.image.displayID)), ("path", JSONLine.string(hit.path))]
                if let url = hit.image.url { fields.append(("url", JSONLine.string(url))) }
                fields.append(("score", "\(hit.score)"))
                if let probability = hit.probability { fields.append(("probability", "\(probability)")) }
                if let caption = hit.caption { fields.append(("caption", JSONLine.string(caption))) }
                fields.append(("metadata", hit.image.metadata))
                return JSONLine.object(fields)
            }
            print("[" + objects.joined(separator: ", ") + "]")
            return
        }
        if hits.isEmpty { print("no results"); return }
        for hit in hits {
            print(String(format: "%.4f  %@", hit.score, hit.image.url ?? hit.path) + (hit.caption.map { "  \"\($0)\"" } ?? ""))
            if preview && hit.image.url == nil { InlineImage.print(path: hit.path) }
        }
    }
}
