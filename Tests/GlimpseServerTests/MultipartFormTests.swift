@testable import GlimpseServer
import XCTest

final class MultipartFormTests: XCTestCase {
    func testParsesFieldsAndBinaryBodies() throws {
        let binary: [UInt8] = [0, 13, 10, 45, 45, 255, 13, 10]
        var body = Array("preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
        body += Array("--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a b.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
        body += binary + Array("\r\n--XyZ--\r\n".utf8)
        let form = try MultipartForm(body: body, boundary: "XyZ")
        XCTAssertEqual(form.parts.map(\.name), ["note", "image"])
        XCTAssertEqual(form.part(named: "note")?.body, Array("hello".utf8))
        XCTAssertEqual(form.part(named: "image")?.body, binary)
        XCTAssertEqual(form.part(named: "image")?.filename, "a b.jpg")
        XCTAssertEqual(form.part(named: "image")?.contentType, "image/jpeg")
    }

    func testBoundaryFromContentType() {
        XCTAssertEqual(MultipartForm.boundary(contentType: "multipart/form-data; boundary=abc"), "abc")
        XCTAssertEqual(MultipartForm.boundary(contentType: "multipart/form-data; charset=utf-8; boundary=\"q r\""), "q r")
        XCTAssertEqual(MultipartForm.boundary(contentType: "multipart/form-data; Boundary=\"q\""), "q")
        XCTAssertNil(MultipartForm.boundary(contentType: "multipart/form-data"))
    }

    func testRefusesBrokenBodies() {
        XCTAssertThrowsError(try MultipartForm(body: Array("nothing".utf8), boundary: "b"))
        XCTAssertThrowsError(try MultipartForm(body: Array("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end".utf8), boundary: "b"))
        XCTAssertThrowsError(try MultipartForm(body: Array("--b\r\nno-headers-end".utf8), boundary: "b"))
        XCTAssertThrowsError(try MultipartForm(body: Array("--b\r\nX: y\r\n\r\nv\r\n--b--".utf8), boundary: "b"))
    }
}

extension MultipartFormTests {
    /// A 4 MB body of near-matches for a 200-byte boundary: the boundary search was body × boundary length
    /// (about 10^9 byte comparisons here); it is linear now (Knuth–Morris–Pratt), and the body is still refused.
    func testNearMatchesOfALongBoundaryParseInLinearTime() {
        let boundary = String(repeating: "a", count: 199) + "b"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "a"), count: 4 << 20)
        XCTAssertThrowsError(try MultipartForm(body: body, boundary: boundary))  // no closing boundary
        XCTAssertEqual(MultipartForm.find(Array("aab".utf8), in: Array("aaaab".utf8), from: 0), 2)
        XCTAssertNil(MultipartForm.find(Array("ab".utf8), in: Array("aaaa".utf8), from: 1))
    }

    /// Bodies that end right at or inside a delimiter, and an empty part: errors or parts, never a trap.
    func testBodiesEndingAtADelimiterAreErrorsOrParts() {
        XCTAssertThrowsError(try MultipartForm(body: Array("--B".utf8), boundary: "B"))
        XCTAssertThrowsError(try MultipartForm(body: Array("--B\r".utf8), boundary: "B"))
        XCTAssertThrowsError(try MultipartForm(body: Array("--B\r\n\r\n\r\n--B".utf8), boundary: "B"))
        XCTAssertEqual(try MultipartForm(body: Array("--B--".utf8), boundary: "B").parts.count, 0)
        let form = try? MultipartForm(body: Array("--B\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n--B--".utf8), boundary: "B")
        XCTAssertEqual(form?.parts.first?.body, [])
    }
}
