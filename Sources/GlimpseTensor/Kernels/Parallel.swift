import Dispatch
import Foundation

/// Splits `0..<count` into contiguous chunks, one per core, and runs them concurrently.
/// Small jobs run inline: spawning work costs more than it saves below `minimumPerChunk` items.
public func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let chunks = min(cores, max(1, count / max(minimumPerChunk, 1)))
    if chunks <= 1 { body(0..<count); return }
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            if start < end { work.value(start..<end) }
        }
    }
}

/// Carries a value the caller knows is safe to share into a concurrent closure
/// (kernels hand disjoint slices of one buffer to each core).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
