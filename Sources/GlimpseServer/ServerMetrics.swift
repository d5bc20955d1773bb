import Foundation
import Prometheus

/// The Prometheus metrics of one server: its own registry (no process-wide bootstrap, so tests can make many).
public final class ServerMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let lock = NSLock()
    private var counters: [String: Counter] = [:]
    private var histograms: [String: DurationHistogram] = [:]
    private let indexSize: Gauge
    private let queryBatch: ValueHistogram
    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                      .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]

    nonisolated(unsafe) static let requests = MetricNameDescriptor(namespace: "glimpse", subsystem: "http", metricName: "requests",
                                               unitName: "total", helpText: "HTTP requests answered.")
    nonisolated(unsafe) static let latency = MetricNameDescriptor(namespace: "glimpse", subsystem: "http", metricName: "request_duration",
                                              unitName: "seconds", helpText: "Time to answer an HTTP request.")

    public init() {
        indexSize = registry.makeGauge(descriptor: .init(namespace: "glimpse", metricName: "index", unitName: "images",
                                                        helpText: "Images in the library's vector index."))
        queryBatch = registry.makeValueHistogram(
            descriptor: .init(namespace: "glimpse", metricName: "text_query_batch", unitName: "size",
                              helpText: "Distinct text queries encoded together."),
            labels: [], buckets: [1, 2, 4, 8, 16, 32])
    }

    /// Counts a finished request and records its latency, labelled by route template (never the raw path).
    public func record(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        let key = labels.map(\.1).joined(separator: " ")
        let timerKey = method + " " + route
        lock.lock()
        let counter = counters[key] ?? registry.makeCounter(
            descriptor: Self.requests, labels: labels)
        counters[key] = counter
        let histogram = histograms[timerKey] ?? registry.makeDurationHistogram(
            descriptor: Self.latency, labels: [("method", method), ("route", route)], buckets: Self.buckets)
        histograms[timerKey] = histogram
        lock.unlock()
        counter.increment()
        histogram.record(duration)
    }

    public func setIndexSize(_ count: Int) { indexSize.set(Double(count)) }
    public func recordQueryBatch(_ size: Int) { queryBatch.record(Double(size)) }

    /// The text exposition format.
    public func render() -> String { registry.emitToString() }
}
