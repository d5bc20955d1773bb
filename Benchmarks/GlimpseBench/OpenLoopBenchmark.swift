import ArgumentParser
import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Open-loop HTTP load on loopback: distinct text searches at a constant rate, latency measured from each request's
/// scheduled start (a slow server cannot slow the load down and hide its queueing, as closed-loop tools do).
/// Native, so that the load generator takes little of the cores it shares with the server.
struct OpenLoopBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Open-loop text-search load on a loopback glimpse serve.")

    @Option(help: "Port of a glimpse serve on 127.0.0.1.") var port: Int
    @Option(help: "Requests per second.") var rate: Double
    @Option(help: "Seconds of load (requests in flight get 10 s more).") var seconds: Double = 10
    @Option(help: "Connections at most (each request takes an idle one).") var connections = 64

    static let words = ["dog", "cat", "beach", "city", "night", "coffee", "mountain", "snow", "red", "car", "children",
                        "running", "house", "forest", "river", "sunset", "portrait", "old", "bridge", "rocket", "flowers"]

    func run() throws {
        guard rate > 0, seconds > 0, (1...1024).contains(connections) else { throw ValidationError("rate and seconds must be positive") }
        let count = Int(rate * seconds)
        let queue = RequestQueue()
        let results = Mutex<(latencies: [Double], errors: Int)>(([], 0))
        let start = DispatchTime.now().uptimeNanoseconds + 200_000_000
        let done = DispatchGroup()
        for _ in 0..<connections {
            done.enter()
            Thread.detachNewThread { [port] in
                var connection: Int32 = -1
                while let (i, scheduled) = queue.take() {
                    let words = (0..<4).map { Self.words[(i * 7 + $0 * 5) % Self.words.count] } + ["q\(i)"]
                    let ok = Self.get("/api/search?limit=30&q=" + words.joined(separator: "+"), port: port, connection: &connection)
                    let latency = Double(DispatchTime.now().uptimeNanoseconds - scheduled) / 1e6
                    results.withLock { if ok { $0.latencies.append(latency) } else { $0.errors += 1 } }
                }
                if connection >= 0 { close(connection) }
                done.leave()
            }
        }
        for i in 0..<count {
            let scheduled = start + UInt64(Double(i) / rate * 1e9)
            let now = DispatchTime.now().uptimeNanoseconds
            if scheduled > now { usleep(UInt32((scheduled - now) / 1000)) }
            queue.put((i, scheduled))
        }
        queue.finish()
        _ = done.wait(timeout: .now() + 10)
        let (latencies, errors) = results.withLock { ($0.latencies.sorted(), $0.errors) }
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : (latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] * 100).rounded() / 100
        }
        let result: [String: Any] = ["rate": rate, "sent": count, "completed": latencies.count, "errors": errors,
                                     "p50_ms": percentile(0.5), "p90_ms": percentile(0.9), "p99_ms": percentile(0.99),
                                     "max_ms": percentile(1)]
        print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }

    /// One GET on a kept-alive connection to 127.0.0.1 (reconnecting once if the server closed it); true on a 200
    /// with its whole body read.
    static func get(_ path: String, port: Int, connection: inout Int32) -> Bool {
        for attempt in 0..<2 {
            if connection < 0 { connection = connect(port: port) }
            if connection < 0 { return false }
            let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
            if request.withUnsafeBytes({ send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count,
               let status = readResponse(connection) {
                return status == 200
            }
            close(connection); connection = -1
            if attempt == 1 { return false }
        }
        return false
    }

    static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if status != 0 { close(fd); return -1 }
        return fd
    }

    /// Reads one response (Content-Length or chunked body); its status code, or nil when the connection failed.
    static func readResponse(_ fd: Int32) -> Int? {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n]); return true
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            if let range = buffer.firstRange(of: separator) { headerEnd = range.upperBound; break }
            if !fill() { return nil }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self).lowercased()
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
           let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
            while buffer.count < headerEnd! + length { if !fill() { return nil } }
        } else {
            let last: [UInt8] = Array("0\r\n\r\n".utf8)
            while buffer[headerEnd!...].firstRange(of: last) == nil { if !fill() { return nil } }
        }
        return status
    }
}

/// Scheduled requests handed to connection threads.
final class RequestQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(Int, UInt64)] = []
    private var head = 0
    private var finished = false

    func put(_ item: (Int, UInt64)) { condition.lock(); items.append(item); condition.signal(); condition.unlock() }
    func finish() { condition.lock(); finished = true; condition.broadcast(); condition.unlock() }
    func take() -> (Int, UInt64)? {
        condition.lock(); defer { condition.unlock() }
        while head == items.count && !finished { condition.wait() }
        guard head < items.count else { return nil }
        head += 1
        return items[head - 1]
    }
}
