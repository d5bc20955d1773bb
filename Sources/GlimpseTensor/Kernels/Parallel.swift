import CGlimpseKernels
import Foundation

/// Splits `0..<count` into contiguous chunks, one per core, and runs them concurrently.
/// Small jobs run inline: spawning work costs more than it saves below `minimumPerChunk` items.
/// Chunks run on the kernels' worker pool (threads that spin briefly between jobs: a text query is ~70 jobs of
/// tens of microseconds each, and waking a sleeping thread for each costs as much as the work). When another
/// caller holds the pool (concurrent requests: the cores are busy already) or inside a chunk, the chunks run one
/// after another on the calling thread: more threads than cores would only preempt each other.
public func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = min(processorCount, max(1, count / max(minimumPerChunk, 1)))
    if chunks <= 1 { body(0..<count); return }
    withoutActuallyEscaping(body) { body in
        var job = PoolJob(count: count, chunks: chunks, body: body)
        let ran = withUnsafeMutablePointer(to: &job) { job in
            glimpse_pool_run(chunks, { context, chunk in
                context!.assumingMemoryBound(to: PoolJob.self).pointee.run(chunk)
            }, job) == 1
        }
        if !ran { body(0..<count) }
    }
}

private let processorCount = ProcessInfo.processInfo.activeProcessorCount

/// One `parallelChunks` call as the worker pool sees it: chunk i of `chunks` covers its share of `0..<count`.
private struct PoolJob {
    let count: Int, chunks: Int
    let body: (Range<Int>) -> Void

    func run(_ chunk: Int) {
        let start = count * chunk / chunks, end = count * (chunk + 1) / chunks
        if start < end { body(start..<end) }
    }
}

/// Carries a value the caller knows is safe to share into a concurrent closure
/// (kernels hand disjoint slices of one buffer to each core).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
