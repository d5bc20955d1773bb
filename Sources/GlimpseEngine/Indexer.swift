import Dispatch
import Foundation
import GlimpseImage
import GlimpseModels
import GlimpseStore
import GlimpseTensor

/// Receives indexing progress (a terminal bar, an HTTP status endpoint, ...).
public protocol IndexProgress: AnyObject, Sendable {
    func started(total: Int)
    func advanced(done: Int, total: Int)
    func finished()
}

/// Brings a store up to date with folders on disk:
/// scan → plan (unchanged, changed, new, moved, removed) → decode on all cores → embed in batches → one
/// transaction per batch. Each committed batch survives a crash, and the next run skips it as unchanged.
/// With a `shard`, only the files of that shard are planned and stored, so N workers split one collection.
public final class Indexer: @unchecked Sendable {
    public let store: any ImageStore
    public let embedder: Embedder
    private let precisionRecord = PrecisionRecord()
    public var batchSize: Int
    public var scanner = FileScanner()
    public weak var progress: IndexProgress?
    /// When set, each committed batch gets its thumbnails (failures are ignored: made again on demand).
    public var thumbnails: ThumbnailWriter?
    /// The part of the collection this worker owns (all of it when nil).
    public var shard: Shard?

    public init(store: any ImageStore, embedder: Embedder, batchSize: Int = 32) {
        self.store = store
        self.embedder = embedder
        self.batchSize = batchSize
    }

    /// Indexes `roots` (folders or files). `shouldStop` is polled between batches (Ctrl-C).
    public func index(roots: [String], shouldStop: @escaping @Sendable () -> Bool = { false }) async throws -> IndexSummary {
        let absoluteRoots = roots.map(FileScanner.absolute)
        try await store.addCollectionRoots(absoluteRoots)
        var (files, scanFailures) = scanner.scan(absoluteRoots)
        var stored = try await store.fileStates()
        if let shard {
            files.removeAll { !shard.contains($0.path) }
            stored.removeAll { !shard.contains($0.path) }
        }
        let plan = ChangePlan.make(scan: files, scanFailures: scanFailures, roots: absoluteRoots,
                                   stored: stored, hash: ContentHash.ofFile)
        var summary = IndexSummary()
        summary.unchanged = plan.unchanged
        summary.failed = scanFailures + plan.failures

        try await store.moveImages(plan.moves)
        summary.moved = plan.moves.count
        try await store.removeImages(ids: plan.removals)
        summary.removed = plan.removals.count

        let work = plan.toEmbed
        progress?.started(total: work.count)
        var done = 0
        // Decode batch k+1 while batch k is embedded: the model and the decoder share the cores.
        let decodeQueue = DispatchQueue(label: "glimpse.decode")
        func decodeAsync(_ range: Range<Int>) -> DecodeJob {
            DecodeJob(paths: work[range].map(\.file.path), embedder: embedder, hashes: plan.hashes, queue: decodeQueue)
        }
        var start = 0
        var pending = work.isEmpty ? nil : decodeAsync(0..<min(batchSize, work.count))
        while let job = pending {
            let range = start..<min(start + batchSize, work.count)
            let decoded = await job.result()
            let next = range.upperBound
            pending = next < work.count && !shouldStop() ? decodeAsync(next..<min(next + batchSize, work.count)) : nil
            let embedded = embedder.embedDecoded(decoded.map { $0.map(\.pixels) })
            var records: [ImageRecord] = []
            for (k, i) in range.enumerated() {
                let file = work[i].file
                switch (decoded[k], embedded[k]) {
                case let (.success(prepared), .success(vector)):
                    records.append(ImageRecord(path: file.path, size: file.size, mtimeNanoseconds: file.mtimeNanoseconds,
                                               contentHash: prepared.contentHash, width: prepared.width, height: prepared.height,
                                               format: prepared.format, embedding: vector,
                                               metadata: FileMetadata.make(width: prepared.width, height: prepared.height,
                                                                           format: prepared.format, facts: prepared.facts)))
                    if work[i].replacing == nil { summary.added += 1 } else { summary.updated += 1 }
                case let (.failure(error), _), let (_, .failure(error)):
                    summary.failed.append(IndexFailure(path: file.path, error: "\(error)"))
                }
            }
            if !records.isEmpty { try await precisionRecord.note(embedder.precision, in: store) }
            let ids = try await store.saveImages(records)
            // A thumbnail that cannot be stored is made again on demand: never a reason to stop indexing.
            if let thumbnails { try? await store.saveThumbnails(thumbnails.make(zip(ids, records).map { ($0, $1.path) })) }
            done += range.count
            progress?.advanced(done: done, total: work.count)
            start = next
            if shouldStop() && pending == nil && start < work.count { summary.interrupted = true; break }
        }
        // A changed file that now fails to decode keeps no stale embedding.
        let failedPaths = Set(summary.failed.map(\.path))
        let staleIds = work.compactMap { item in item.replacing.flatMap { failedPaths.contains(item.file.path) ? $0 : nil } }
        try await store.removeImages(ids: staleIds)
        progress?.finished()
        return summary
    }
}

extension Indexer {
    /// Indexes one file (an upload) without scanning anything else: its cost does not grow with the library.
    /// Throws `IndexFailure` when the file cannot be read or decoded; an unchanged file is not embedded again.
    public func index(file path: String) async throws -> ImageRecord {
        let (files, failures) = scanner.scan([path])
        guard let file = files.first else { throw failures.first ?? IndexFailure(path: path, error: "not a regular file") }
        if let stored = try await store.image(path: file.path), stored.size == file.size, stored.mtimeNanoseconds == file.mtimeNanoseconds {
            return stored
        }
        let record: ImageRecord
        do {
            let prepared = try embedder.prepare(path: file.path)
            let vector = try embedder.embedDecoded([.success(prepared.pixels)])[0].get()
            record = ImageRecord(path: file.path, size: file.size, mtimeNanoseconds: file.mtimeNanoseconds,
                                 contentHash: try ContentHash.ofFile(file.path), width: prepared.width, height: prepared.height,
                                 format: prepared.format, embedding: vector,
                                 metadata: FileMetadata.make(width: prepared.width, height: prepared.height, format: prepared.format,
                                                             facts: PhotoFacts.read(path: file.path)))
        } catch let failure as IndexFailure {
            throw failure
        } catch {
            throw IndexFailure(path: file.path, error: "\(error)")
        }
        try await precisionRecord.note(embedder.precision, in: store)
        let id = try await store.saveImages([record])[0]
        if let thumbnails { try? await store.saveThumbnails(thumbnails.make([(id, file.path)])) }
        guard let stored = try await store.image(id: id) else { throw IndexFailure(path: file.path, error: "removed while indexing") }
        return stored
    }
}

/// What the decode stage hands to the embed stage for one file.
struct PreparedImage: Sendable {
    let pixels: [Float]
    let width: Int
    let height: Int
    let format: String
    let contentHash: String
    /// EXIF facts (date taken, camera, GPS) read from the file's header.
    let facts: PhotoFacts
}

/// Decodes, preprocesses and hashes a batch of files on all cores, in the background.
final class DecodeJob: @unchecked Sendable {
    private let group = DispatchGroup()
    private var slots: [Result<PreparedImage, Error>?]

    init(paths: [String], embedder: Embedder, hashes: [String: String], queue: DispatchQueue) {
        slots = Array(repeating: nil, count: paths.count)
        queue.async(group: group) { [self] in
            slots.withUnsafeMutableBufferPointer { buffer in
                let shared = UncheckedSendable(buffer)
                DispatchQueue.concurrentPerform(iterations: paths.count) { i in
                    let path = paths[i]
                    shared.value[i] = Result {
                        let image = try embedder.prepare(path: path)
                        return PreparedImage(pixels: image.pixels, width: image.width, height: image.height, format: image.format,
                                             contentHash: try hashes[path] ?? ContentHash.ofFile(path), facts: PhotoFacts.read(path: path))
                    }
                }
            }
        }
    }

    /// Waits (without holding a thread) for the batch and returns one result per path, in order.
    func result() async -> [Result<PreparedImage, Error>] {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in group.notify(queue: .global()) { done.resume() } }
        return slots.map { $0! }
    }
}
