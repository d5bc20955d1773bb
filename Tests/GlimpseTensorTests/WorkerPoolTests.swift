import Dispatch
import Synchronization
import XCTest
@testable import GlimpseTensor

/// `parallelChunks` on the spinning worker pool: every index runs exactly once, from one caller, from many callers
/// at once (the pool serves one, the rest fall back to Dispatch) and from inside a chunk (nested).
final class WorkerPoolTests: XCTestCase {
    static func covered(_ count: Int, minimumPerChunk: Int = 1, nested: Bool = false) -> [Int] {
        let hits = Mutex([Int](repeating: 0, count: count))
        parallelChunks(count, minimumPerChunk: minimumPerChunk) { range in
            for i in range {
                var innerCount = 1
                if nested {
                    let inner = Mutex(0)
                    parallelChunks(8) { r in inner.withLock { $0 += r.count } }
                    innerCount = inner.withLock { $0 } == 8 ? 1 : 100
                }
                hits.withLock { $0[i] += innerCount }
            }
        }
        return hits.withLock { $0 }
    }

    func covered(_ count: Int, minimumPerChunk: Int = 1, nested: Bool = false) -> [Int] {
        Self.covered(count, minimumPerChunk: minimumPerChunk, nested: nested)
    }

    func testEveryIndexRunsOnce() {
        for count in [0, 1, 2, 3, 17, 1000] {
            for _ in 0..<200 { XCTAssertEqual(covered(count), [Int](repeating: 1, count: count), "\(count)") }
        }
        XCTAssertEqual(covered(100, minimumPerChunk: 7), [Int](repeating: 1, count: 100))
    }

    func testNestedCallsRunInline() {
        XCTAssertEqual(covered(64, nested: true), [Int](repeating: 1, count: 64))
    }

    func testConcurrentCallersEachGetTheirWorkDone() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            for round in 0..<300 {
                let count = 1 + (caller * 31 + round) % 97
                if Self.covered(count) != [Int](repeating: 1, count: count) { failures.add(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
    }
}
