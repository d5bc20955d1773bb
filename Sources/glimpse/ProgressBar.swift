import Foundation
import GlimpseEngine
#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar with rate and ETA on standard error, drawn only when it is a terminal.
final class ProgressBar: IndexProgress, @unchecked Sendable {
    private let label: String
    private var startTime = Date()
    private var lastDraw = Date.distantPast
    private let lock = NSLock()
    let enabled = isatty(STDERR_FILENO) == 1

    init(label: String) { self.label = label }

    func started(total: Int) {
        lock.lock(); defer { lock.unlock() }
        startTime = Date()
        if enabled && total > 0 { draw(done: 0, total: total, force: true) }
    }

    func advanced(done: Int, total: Int) {
        lock.lock(); defer { lock.unlock() }
        if enabled { draw(done: done, total: total, force: done == total) }
    }

    func finished() {
        lock.lock(); defer { lock.unlock() }
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func draw(done: Int, total: Int, force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let width = 30
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let filled = Int(fraction * Double(width))
        let elapsed = now.timeIntervalSince(startTime)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = String(format: "\r\u{1B}[K%@ %@ %d/%d  %.1f img/s  ETA %@", label, bar, done, total, rate, Self.duration(eta))
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}
