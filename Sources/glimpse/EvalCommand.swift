import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseHub
import GlimpseImage
import GlimpseModels
import GlimpseStore

extension EvalDataset.Format: ExpressibleByArgument {}

/// `glimpse eval`: recall of each search path on an image–text dataset, as LAION's clip_benchmark measures it.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure how well each search path finds the right image: text→image and image→text recall@k, MRR and median rank.",
        discussion: """
            The dataset's images are indexed into a library of their own (reused and brought up to date on the next \
            run), captioned when a caption or hybrid path is measured, and every caption then queries the images \
            (and every image the captions) over exact scores, as clip_benchmark's zeroshot_retrieval does. \
            Formats: clip_benchmark's flickr30k_test_karpathy.txt, coco_test_karpathy.json (COCO captions layout), \
            Karpathy's dataset_flickr30k.json / dataset_coco.json (--split), CSV/TSV with an image,caption header, \
            or an image list with --captions-file (XTD-10, Flickr30k-CN).
            """)

    @Option(help: "The dataset file.")
    var dataset: String

    @Option(help: "The folder the dataset's image names are relative to.")
    var images: String

    @Option(help: "clip, caption, hybrid or all.")
    var path: String = "all"

    @Option(name: .customLong("k"), help: "Cut-offs for recall@k, comma-separated.")
    var ks: String = "1,5,10"

    @Option(help: "The dataset format (default: from the file's extension and content).")
    var format: EvalDataset.Format?

    @Option(help: "The split of a Karpathy JSON file to evaluate (\"all\" for every image).")
    var split: String = "test"

    @Option(help: "Captions, one per line, aligned with an image list given as --dataset (multilingual sets).")
    var captionsFile: String?

    @Option(help: "Library folder for the dataset's images (default: one per dataset and model under $XDG_CACHE_HOME/glimpse/eval).")
    var library: String?

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var textModelOptions: TextModelOptions

    @Option(help: "The captioning model for the caption and hybrid paths (default \(CaptionModelName.defaultModel)).")
    var captionModel: String?

    @Option(help: "The sentence encoder captions and caption queries are embedded with (default \(SentenceModelName.defaultModel)).")
    var sentenceModel: String?

    @OptionGroup var generation: GenerationOptions

    @Option(help: "How hybrid fuses the two rankings: rrf[:K] or weighted[:W].")
    var fusion: String = RankFusion.default.name

    @Option(help: "Write a recall@k chart comparing the paths (.png or .svg).")
    var plot: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    var requestedPaths: [SearchPath] { path == "all" ? SearchPath.allCases : SearchPath(rawValue: path).map { [$0] } ?? [] }
    var cutoffs: [Int] { ks.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        if requestedPaths.isEmpty { throw ValidationError("--path must be clip, caption, hybrid or all.") }
        let parts = ks.split(separator: ",")
        if parts.isEmpty || cutoffs.count != parts.count || cutoffs.contains(where: { $0 < 1 }) {
            throw ValidationError("--k must be positive integers separated by commas, e.g. 1,5,10.")
        }
        if RankFusion(fusion) == nil { throw ValidationError("--fusion must be rrf, rrf:K, weighted or weighted:W (0 ≤ W ≤ 1).") }
        if let plot, !["png", "svg"].contains((plot as NSString).pathExtension.lowercased()) {
            throw ValidationError("--plot must name a .png or .svg file.")
        }
    }

    func run() async throws {
        let data: EvalDataset
        do { data = try EvalDataset.load(file: dataset, format: format, split: split == "all" ? nil : split, captionsFile: captionsFile) } catch {
            throw CLIError("\(error)")
        }
        let imagesRoot = FileScanner.absolute(images)
        let imagePaths = data.images.map { (imagesRoot as NSString).appendingPathComponent($0) }
        let paths = requestedPaths

        let modelName = ModelLocator.modelName(option: modelOptions.model)
        let folder = library ?? Self.cacheFolder(dataset: dataset, images: imagesRoot, model: modelName)
        let options = try LibraryOptions.parse(["--library", folder])
        let opened = try await OpenedLibrary.open(options, create: true, modelOptions: modelOptions, textModel: textModelOptions.name)
        let store = opened.store
        let report: EvalReport
        do {
            // The reference decode (no JPEG shrink-on-load): published numbers are measured on exact pixels.
            opened.embedder.fastDecode = false
            let indexer = Indexer(store: store, embedder: opened.embedder)
            indexer.progress = ProgressBar(label: "indexing")
            let indexed = try await indexer.index(roots: imagePaths)
            for failure in indexed.failed { FileHandle.standardError.write(Data("warning: left out: \(failure)\n".utf8)) }
            var captionText: (any TextEncoder)?
            if paths.contains(where: { $0 != .clip }) {
                let captioner = try await CaptionModels.load(captionModel: captionModel, sentenceModel: sentenceModel, store: store,
                                                             generation: generation, maxPixels: 100_000_000)
                captioner.progress = ProgressBar(label: "captioning")
                let captioned = try await captioner.run()
                for failure in captioned.failed { FileHandle.standardError.write(Data("warning: no caption: \(failure)\n".utf8)) }
                captionText = captioner.sentences
            }
            try await store.refresh()
            try? await store.checkpoint()
            let searcher = Searcher(store: store, embedder: opened.embedder, captionText: captionText)
            searcher.fusion = RankFusion(fusion)!
            report = try await Evaluator(searcher: searcher).evaluate(dataset: data, imagePaths: imagePaths, paths: paths, ks: cutoffs)
            await store.close()
        } catch {
            await store.close()
            throw CLIError("\(error)")
        }
        if let plot {
            let name = (dataset as NSString).lastPathComponent
            do { try RecallChart(report: report, title: "\(name): recall@k by search path").write(to: plot) } catch {
                throw CLIError("cannot write \(plot): \(error)")
            }
        }
        print(json ? Self.json(report) : Self.table(report))
    }

    /// `$XDG_CACHE_HOME/glimpse/eval/NAME-HASH`: one library per dataset file, images folder and model.
    static func cacheFolder(dataset: String, images: String, model: String) -> String {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        let key = [FileScanner.absolute(dataset), images, model].joined(separator: "\n")
        let hash = String(ContentHash.hex(Data(key.utf8).withUnsafeBytes { ContentHash.hash($0) }).prefix(12))
        let name = ((dataset as NSString).lastPathComponent as NSString).deletingPathExtension
        return (cache as NSString).appendingPathComponent("glimpse/eval/\(name)-\(hash)")
    }

    static func json(_ report: EvalReport) -> String {
        func scores(_ s: RetrievalScores) -> String {
            JSONLine.object(report.ks.map { ("recall@\($0)", "\(s.recall[$0] ?? 0)") }
                            + [("mrr", "\(s.meanReciprocalRank)"), ("median_rank", Self.number(s.medianRank))])
        }
        let paths = report.paths.map { p in
            (p.path.rawValue, JSONLine.object([("text_to_image", scores(p.textToImage)), ("image_to_text", scores(p.imageToText)),
                                               ("ms_per_query", String(format: "%.3f", p.millisecondsPerQuery))]))
        }
        return JSONLine.object([("images", "\(report.images)"), ("captions", "\(report.captions)"), ("paths", JSONLine.object(paths))]
                               + (report.missing.isEmpty ? [] : [("missing_images", "[" + report.missing.map(JSONLine.string).joined(separator: ",") + "]")]))
    }

    static func number(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

    static func table(_ report: EvalReport) -> String {
        let recallHeads = report.ks.map { "R@\($0)" }
        let head = ["path"] + recallHeads.map { "t→i " + $0 } + ["t→i MRR", "t→i MedR"] + recallHeads.map { "i→t " + $0 } + ["i→t MRR", "i→t MedR", "ms/query"]
        var rows = [head]
        for p in report.paths {
            func cells(_ s: RetrievalScores) -> [String] {
                report.ks.map { String(format: "%.1f", 100 * (s.recall[$0] ?? 0)) } + [String(format: "%.3f", s.meanReciprocalRank), number(s.medianRank)]
            }
            rows.append([p.path.rawValue] + cells(p.textToImage) + cells(p.imageToText) + [String(format: "%.2f", p.millisecondsPerQuery)])
        }
        let widths = head.indices.map { c in rows.map { $0[c].count }.max()! }
        var lines = ["\(report.images) images, \(report.captions) captions; recall in %"]
        for (r, row) in rows.enumerated() {
            lines.append(row.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  "))
            if r == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        if !report.missing.isEmpty { lines.append("left out (could not be indexed): \(report.missing.count) images") }
        return lines.joined(separator: "\n")
    }
}
