import Foundation
import XCTest
@testable import GlimpseStore

/// The Milvus store's parts that need no server: its URL, the expressions it sends, and the ids it gives images.
/// (Against a server: `MilvusStoreConformanceTests` and `SharedMilvusCLITests`.)
final class MilvusStoreUnitTests: XCTestCase {
    func testURLPartsDefaultsAndRedaction() throws {
        let url = try MilvusURL("milvus://root:s%40cret@milvus.example:19531/photos?db=prod&consistency=strong&m=32&ef_construction=128&timeout=5")
        XCTAssertEqual([url.host, url.collection, url.database, url.user, url.password], ["milvus.example", "photos", "prod", "root", "s@cret"])
        XCTAssertEqual(url.port, 19531)
        XCTAssertEqual(url.consistency, .strong)
        XCTAssertEqual([url.m, url.efConstruction], [32, 128])
        XCTAssertFalse(url.tls)
        XCTAssertEqual(url.redacted, "milvus://root@milvus.example:19531/photos?db=prod")
        XCTAssertEqual(url.authorization, Data("root:s@cret".utf8).base64EncodedString())

        let plain = try MilvusURL("milvus+tls://cluster.example/items?token=abc")
        XCTAssertEqual(plain.port, 19530)
        XCTAssertTrue(plain.tls)
        XCTAssertEqual(plain.consistency, .bounded)
        XCTAssertEqual(plain.authorization, Data("abc".utf8).base64EncodedString())
        XCTAssertFalse(plain.redacted.contains("abc"), "the token is not shown")
        XCTAssertEqual(try StoreLocation("milvus://localhost/c"), .milvus(try MilvusURL("milvus://localhost/c")))
    }

    func testBadURLsNameWhatIsWrong() {
        let cases = [
            ("milvus://localhost", "no collection name"),
            ("milvus://localhost/my-photos", "collection name"),
            ("milvus://localhost/9lives", "collection name"),
            ("milvus://localhost/c?consistency=sometimes", "consistency"),
            ("milvus://localhost/c?m=1", "m must be"),
            ("milvus://localhost/c?colour=blue", "unknown parameter"),
            ("milvus://u:p@localhost/c?token=t", "either"),
            ("milvus://:secret@/c", "no host"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try MilvusURL(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
                XCTAssertFalse("\(error)".contains("secret"), "\(text): the password is not shown: \(error)")
            }
        }
    }

    func testLiteralsAreQuotedAndEscaped() {
        XCTAssertEqual(MilvusExpression.string(#"a "quoted" \ path"#), #""a \"quoted\" \\ path""#)
        XCTAssertEqual(MilvusExpression.string("line\nbreak"), #""line\nbreak""#)
        XCTAssertEqual(MilvusExpression.number(2020), "2020")
        XCTAssertEqual(MilvusExpression.number(-0.5), "-0.5")
        XCTAssertEqual(MilvusExpression.ids([3, 1]), "id in [3, 1]")
        XCTAssertEqual(MilvusStore.likePrefix("/data/list_1.tsv#"), "/data/list")
    }

    /// Clauses Milvus can say exactly are sent as they are; the others select a superset that the store checks.
    func testFiltersTranslateToExpressions() throws {
        let equal = MilvusExpression.filter(try MetadataFilter(parsing: ["color = red"]))
        XCTAssertTrue(equal.exact)
        XCTAssertEqual(equal.expression, #"(metadata["color"] == "red" or json_contains(metadata["color"], "red"))"#)
        let several = MilvusExpression.filter(try MetadataFilter(parsing: ["year in (2001, \"2003\") and featured = true"]))
        XCTAssertTrue(several.exact)
        XCTAssertTrue(several.expression.contains(#"json_contains_any(metadata["year"], [2001, "2003"])"#), several.expression)
        XCTAssertTrue(several.expression.contains(#"metadata["featured"] == true"#), several.expression)
        let range = MilvusExpression.filter(try MetadataFilter(parsing: ["price >= 10.5"]))
        XCTAssertFalse(range.exact, "a list's elements are checked by the store")
        XCTAssertTrue(range.expression.hasPrefix(#"(metadata["price"] >= 10.5 or"#), range.expression)
        let contains = MilvusExpression.filter(try MetadataFilter(parsing: ["title contains beach"]))
        XCTAssertFalse(contains.exact, "a substring ignoring case is checked by the store")
        let key = MilvusExpression.filter(MetadataFilter(clauses: [.init(key: #"odd "key\"#, op: .equal, values: [.number(1)])]))
        XCTAssertTrue(key.expression.contains(#"metadata["odd \"key\\"]"#), key.expression)
    }

    /// Ids come from paths: the same for every writer, below 2^53, spread over the space, different per attempt.
    func testIdsFromPathsAreStableAndExactInJSON() {
        let ids = (0..<10_000).map { MilvusStore.id(for: "/photos/\($0).jpg") }
        XCTAssertEqual(Set(ids).count, ids.count)
        XCTAssertTrue(ids.allSatisfy { $0 > 0 && $0 < 1 << 53 })
        XCTAssertEqual(MilvusStore.id(for: "/photos/1.jpg"), ids[1])
        XCTAssertNotEqual(MilvusStore.id(for: "/photos/1.jpg", attempt: 1), ids[1])
        let high = ids.filter { $0 >= 1 << 52 }.count
        XCTAssertEqual(Double(high) / Double(ids.count), 0.5, accuracy: 0.03)
    }
}
