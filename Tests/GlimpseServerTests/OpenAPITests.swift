import Foundation
import GlimpseServer
import Hummingbird
import HummingbirdTesting
import XCTest

/// The served OpenAPI document stays true: every routed endpoint is described, and every described operation is
/// routed; each operation's documented statuses include the ones the API can answer.
final class OpenAPITests: XCTestCase {
    func document() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
    }

    func testEveryRouteIsInTheDocumentAndEveryDocumentedOperationIsRouted() async throws {
        let fixture = try await ServerFixture(thumbnails: false)
        defer { Task { await fixture.remove() } }
        let doc = try document()
        XCTAssertEqual(doc["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(doc["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "post", "put", "delete", "patch", "head", "options"]
        var documented = Set<String>()
        for (path, item) in paths {
            for key in item.keys where methods.contains(key) { documented.insert("\(key.uppercased()) \(path)") }
        }
        let endpoints = Routes.endpoints(fixture.service)
        let routed = Set(endpoints.map { "\($0.method.rawValue) \($0.path)" })
        XCTAssertEqual(routed.count, endpoints.count, "no endpoint is registered twice")
        XCTAssertEqual(routed.subtracting(documented).sorted(), [], "routes missing from openapi.json")
        XCTAssertEqual(documented.subtracting(routed).sorted(), [], "documented operations that are not routed")

        // Path parameters are declared; every operation has an id and a 2xx response; references resolve.
        for (path, item) in paths {
            let placeholders = path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
            for (key, value) in item where methods.contains(key) {
                let operation = try XCTUnwrap(value as? [String: Any])
                XCTAssertNotNil(operation["operationId"] as? String, "\(key) \(path)")
                let responses = try XCTUnwrap(operation["responses"] as? [String: Any], "\(key) \(path)")
                XCTAssertTrue(responses.keys.contains { $0.hasPrefix("2") }, "\(key) \(path) has no success response")
                let parameters = ((item["parameters"] as? [[String: Any]]) ?? []) + ((operation["parameters"] as? [[String: Any]]) ?? [])
                let names = try parameters.map { parameter -> String in
                    if let ref = parameter["$ref"] as? String { return try XCTUnwrap(resolve(ref, in: doc)?["name"] as? String, ref) }
                    return try XCTUnwrap(parameter["name"] as? String)
                }
                for placeholder in placeholders { XCTAssertTrue(names.contains(placeholder), "\(key) \(path) declares no \(placeholder)") }
            }
        }
        for ref in references(in: doc) { XCTAssertNotNil(resolve(ref, in: doc), "dangling \(ref)") }
    }

    func testServedDocumentIsTheCommittedOne() async throws {
        let fixture = try await ServerFixture(thumbnails: false)
        defer { Task { await fixture.remove() } }
        try await fixture.test { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                XCTAssertEqual(String(buffer: response.body), OpenAPIDocument.json)
            }
        }
    }

    func resolve(_ ref: String, in doc: [String: Any]) -> [String: Any]? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: Any = doc
        for component in ref.dropFirst(2).split(separator: "/") {
            guard let next = (node as? [String: Any])?[String(component)] else { return nil }
            node = next
        }
        return node as? [String: Any]
    }

    func references(in value: Any) -> [String] {
        if let object = value as? [String: Any] {
            return ((object["$ref"] as? String).map { [$0] } ?? []) + object.values.flatMap { references(in: $0) }
        }
        if let array = value as? [Any] { return array.flatMap { references(in: $0) } }
        return []
    }
}
