import Foundation
import GlimpseServer
import XCTest

final class TextQueryBatcherTests: XCTestCase {
    func testQueriesWaitingTogetherAreEncodedAsOneBatchAndCached() async throws {
        final class Calls: @unchecked Sendable { let lock = NSLock(); var batches: [[String]] = [] }
        let calls = Calls()
        let batcher = TextQueryBatcher(maxBatch: 16) { texts in
            calls.lock.withLock { calls.batches.append(texts) }
            Thread.sleep(forTimeInterval: 0.05)  // a slow encoder: later queries pile up meanwhile
            return texts.map { [Float($0.count)] }
        }
        defer { batcher.stop() }
        let results = await withTaskGroup(of: (String, [Float]).self) { group in
            for i in 0..<40 { group.addTask { let t = "query \(i % 20)"; return (t, await batcher.embed(t)) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (text, vector) in results { XCTAssertEqual(vector, [Float(text.count)]) }
        let batches = calls.lock.withLock { calls.batches }
        XCTAssertEqual(Set(batches.flatMap { $0 }).count, 20, "each distinct query is encoded once")
        XCTAssertLessThan(batches.count, 20, "queries were batched: \(batches.map(\.count))")
        XCTAssertTrue(batches.allSatisfy { $0.count <= 16 })
        let before = batches.count
        _ = await batcher.embed("QUERY   3")  // same text up to case and spaces: cached
        XCTAssertEqual(calls.lock.withLock { calls.batches.count }, before)
    }
}
