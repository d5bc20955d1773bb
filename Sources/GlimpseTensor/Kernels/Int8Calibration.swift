import Foundation

/// Finds the input channels int8 cannot carry. Transformers have a few activation channels tens of times larger than
/// the rest ("outlier features", e.g. after BERT's layer norms); scaled into one int8 range with them, every other
/// channel of the row keeps a few levels and the error reaches the embedding (cosine 0.985 on all-MiniLM-L6-v2). While
/// `record` runs, each Float32 linear layer notes, per input channel, the largest |x| it sees; `prepare(.int8)` then
/// keeps channels far above the typical one in Float32 (LLM.int8()'s decomposition with a channel set fixed at load),
/// and the int8 kernels take the rest.
public enum Int8Calibration {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var depth = 0

    /// Whether layers are recording now.
    static var isRecording: Bool { lock.withLock { depth > 0 } }

    /// Runs `body` (forward passes in Float32) with every linear layer recording its input channels' ranges.
    public static func record(_ body: () -> Void) {
        lock.withLock { depth += 1 }
        defer { lock.withLock { depth -= 1 } }
        body()
    }

    /// A channel is an outlier when its range exceeds this many times the median channel's.
    static let outlierRatio: Float = 3
    /// At most this fraction of the channels stays Float32 (a layer with more is not one int8 helps).
    static let maximumOutlierFraction = 0.0625

    /// The outlier channels of one layer from the ranges it recorded, largest first.
    static func outliers(_ ranges: [Float]) -> [Int] {
        guard ranges.count >= 8 else { return [] }
        let sorted = ranges.sorted()
        let median = sorted[sorted.count / 2]
        guard median > 0 else { return [] }
        let limit = max(1, Int(Double(ranges.count) * maximumOutlierFraction))
        return Array(ranges.indices.filter { ranges[$0] > outlierRatio * median }.sorted { ranges[$0] > ranges[$1] }.prefix(limit))
    }
}
