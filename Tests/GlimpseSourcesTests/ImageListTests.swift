import Foundation
import GlimpseStore
import XCTest
@testable import GlimpseSources

final class ImageListTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "glimpse-lists-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func write(_ name: String, _ text: String) throws -> String {
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func value(_ row: ListRow, _ name: String) -> MetadataValue? { row.fields.first { $0.0 == name }?.1 }

    func testCSVWithQuotesHeaderDetectionAndTypedValues() throws {
        let path = try write("products.csv", """
            sku,title,image_url,price,tags,postcode
            A-1,"Red chair, oak",https://shop.example/a1.jpg,129.5,,007
            A-2,"A ""quoted"" lamp
            on two lines",https://shop.example/a2.jpg,40,x,1200
            A-3,Missing image,,10,,1
            A-1,Duplicate,https://shop.example/dup.jpg,1,,1
            """)
        let list = try ImageList.read(path: path)
        XCTAssertEqual(list.rows.map(\.id), ["A-1", "A-2"])
        XCTAssertEqual(list.rows[0].url, "https://shop.example/a1.jpg")
        XCTAssertEqual(value(list.rows[0], "title"), .string("Red chair, oak"))
        XCTAssertEqual(value(list.rows[0], "caption"), .string("Red chair, oak"), "the caption column (title, found by name)")
        XCTAssertEqual(value(list.rows[0], "price"), .number(129.5))
        XCTAssertEqual(value(list.rows[0], "postcode"), .string("007"), "a leading zero keeps text")
        XCTAssertNil(value(list.rows[0], "tags"), "empty cells are left out")
        XCTAssertEqual(value(list.rows[1], "title"), .string("A \"quoted\" lamp\non two lines"))
        XCTAssertEqual(list.rows[1].line, 3)
        XCTAssertEqual(list.failures.map(\.line), [5, 6])
        XCTAssertTrue(list.failures[0].error.contains("no URL"), list.failures[0].error)
        XCTAssertTrue(list.failures[1].error.contains("duplicate id (first on line 2)"), list.failures[1].error)
    }

    func testByteOrderMarkAndCRLFFromSpreadsheets() throws {
        let path = try write("excel.csv", "\u{FEFF}id,url,name\r\n1,https://a.example/1.jpg,One\r\n")
        let list = try ImageList.read(path: path)
        XCTAssertEqual(list.rows.map(\.id), ["1"])
        XCTAssertEqual(value(list.rows[0], "name"), .string("One"))
    }

    func testConceptualCaptionsAndGzip() throws {
        let text = "a dog on a beach\thttps://img.example/1.jpg\nthe moon over a city\thttps://img.example/2.jpg\n"
        let plain = try write("Train_GCC-training.tsv", text)
        let gz = plain + ".gz"
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(plain)' > '\(gz)'"]
        try gzip.run()
        gzip.waitUntilExit()
        for path in [plain, gz] {
            let list = try ImageList.read(path: path)
            XCTAssertTrue(list.description.contains("conceptual-captions"), list.description)
            XCTAssertEqual(list.rows.map(\.id), ["https://img.example/1.jpg", "https://img.example/2.jpg"], "identity is the URL")
            XCTAssertEqual(value(list.rows[1], "caption"), .string("the moon over a city"))
            XCTAssertEqual(list.failures, [])
        }
    }

    func testJSONLinesKeepTypesListsAndNestedFields() throws {
        let path = try write("items.jsonl", """
            {"id": 7, "url": "s3://bucket/a.jpg", "year": "2020", "tags": ["beach", "sun"], "exif": {"iso": 100}, "ok": true, "none": null}
            not json
            {"id": 8, "url": "relative/b.png"}
            """)
        let list = try ImageList.read(path: path)
        XCTAssertEqual(list.rows.map(\.id), ["7", "8"])
        XCTAssertEqual(value(list.rows[0], "year"), .string("2020"), "a JSON string stays text")
        XCTAssertEqual(value(list.rows[0], "tags"), .list([.string("beach"), .string("sun")]))
        XCTAssertEqual(value(list.rows[0], "exif.iso"), .number(100))
        XCTAssertEqual(value(list.rows[0], "ok"), .bool(true))
        XCTAssertNil(value(list.rows[0], "none"))
        XCTAssertEqual(list.rows[1].url, URL(fileURLWithPath: folder + "/relative/b.png").absoluteString, "relative paths are relative to the list")
        XCTAssertEqual(list.failures.map(\.line), [2])
    }

    func testExplicitColumnsAndTheirErrors() throws {
        let path = try write("x.tsv", "name\tlink\tnote\nn1\thttps://a.example/1.jpg\thello\n")
        let list = try ImageList.read(path: path, options: ListOptions(urlColumn: "link", idColumn: "name", metadataColumns: []))
        XCTAssertEqual(list.rows.map(\.id), ["n1"])
        XCTAssertTrue(list.rows[0].fields.isEmpty, "no metadata columns asked for")
        XCTAssertThrowsError(try ImageList.read(path: path, options: ListOptions(urlColumn: "nope"))) { error in
            XCTAssertTrue("\(error)".contains("--url-column 'nope' is not a column"), "\(error)")
        }
        let noURL = try write("y.csv", "a,b\n1,2\n")
        XCTAssertThrowsError(try ImageList.read(path: noURL)) { error in XCTAssertTrue("\(error)".contains("no URL column"), "\(error)") }
        XCTAssertThrowsError(try ImageList.read(path: folder + "/missing.csv")) { error in XCTAssertTrue("\(error)".contains("no such file"), "\(error)") }
    }

    func testNetworkPolicyRefusesPrivateAddresses() throws {
        for address: [UInt8] in [[127, 0, 0, 1], [10, 1, 2, 3], [172, 20, 0, 1], [192, 168, 1, 1], [169, 254, 169, 254], [0, 0, 0, 0], [100, 64, 0, 1]] {
            XCTAssertTrue(NetworkPolicy.isPrivate(address), "\(address)")
        }
        for address: [UInt8] in [[8, 8, 8, 8], [172, 32, 0, 1], [151, 101, 1, 1]] { XCTAssertFalse(NetworkPolicy.isPrivate(address), "\(address)") }
        var v6 = [UInt8](repeating: 0, count: 16); v6[15] = 1
        XCTAssertTrue(NetworkPolicy.isPrivate(v6), "::1")
        var mapped = [UInt8](repeating: 0, count: 16); mapped[10] = 0xFF; mapped[11] = 0xFF; mapped[12] = 127; mapped[15] = 1
        XCTAssertTrue(NetworkPolicy.isPrivate(mapped), "::ffff:127.0.0.1")
        var linkLocal = [UInt8](repeating: 0, count: 16); linkLocal[0] = 0xFE; linkLocal[1] = 0x80
        XCTAssertTrue(NetworkPolicy.isPrivate(linkLocal))
        var global = [UInt8](repeating: 0, count: 16); global[0] = 0x20; global[1] = 0x01; global[2] = 0x48; global[3] = 0x60
        XCTAssertFalse(NetworkPolicy.isPrivate(global))
        XCTAssertThrowsError(try NetworkPolicy().check(host: "localhost")) { error in
            guard case SourceError.privateAddress = error else { return XCTFail("\(error)") }
        }
        XCTAssertNoThrow(try NetworkPolicy(allowPrivateNetwork: true).check(host: "127.0.0.1"))
    }

    /// The GET Object example of AWS's Signature V4 documentation (S3 API reference, "Signature Calculations for
    /// the Authorization Header"): the same canonical request, the same signature.
    func testSignatureV4MatchesAWSDocumentedExample() throws {
        let signer = AWSSignatureV4(credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                                secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                    region: "us-east-1")
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
        let headers = signer.sign(method: "GET", path: "/test.txt", query: [],
                                  headers: ["Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9"], date: date)
        XCTAssertEqual(headers["authorization"],
                       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        XCTAssertEqual(headers["x-amz-date"], "20130524T000000Z")
    }

    func testCredentialsFromEnvironmentAndFile() throws {
        let file = try write("credentials", "[default]\naws_access_key_id = AK1\naws_secret_access_key = S1\n[work]\naws_access_key_id=AK2\naws_secret_access_key=S2\naws_session_token=T2\n")
        XCTAssertEqual(try AWSCredentials.load(environment: ["AWS_ACCESS_KEY_ID": "E", "AWS_SECRET_ACCESS_KEY": "F"]), AWSCredentials(accessKeyID: "E", secretAccessKey: "F"))
        XCTAssertEqual(try AWSCredentials.load(environment: ["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "work"]),
                       AWSCredentials(accessKeyID: "AK2", secretAccessKey: "S2", sessionToken: "T2"))
        XCTAssertThrowsError(try AWSCredentials.load(environment: ["AWS_ACCESS_KEY_ID": "E"]))
        XCTAssertThrowsError(try AWSCredentials.load(environment: ["HOME": folder + "/nowhere"]))
        let client = try S3Client.fromEnvironment(["AWS_ACCESS_KEY_ID": "E", "AWS_SECRET_ACCESS_KEY": "F", "AWS_REGION": "eu-west-1",
                                                   "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "HOME": folder])
        XCTAssertEqual(client.address(bucket: "b", key: "a dir/x+y.jpg").url, "http://127.0.0.1:9000/b/a%20dir/x%2By.jpg")
        XCTAssertEqual(client.signer.region, "eu-west-1")
    }

    func testS3ListingXML() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>
            <IsTruncated>true</IsTruncated><NextContinuationToken>tok==</NextContinuationToken>
            <Contents><Key>p/a.jpg</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>
            <Contents><Key>p/b.png</Key><LastModified>2026-01-02T00:00:00.000Z</LastModified><ETag>"def"</ETag><Size>34</Size></Contents>
            </ListBucketResult>
            """
        let page = S3XML.parseListing(Data(xml.utf8))
        XCTAssertEqual(page.objects.map(\.key), ["p/a.jpg", "p/b.png"])
        XCTAssertEqual(page.objects[0].etag, "\"abc\"")
        XCTAssertEqual(page.objects[1].size, 34)
        XCTAssertTrue(page.isTruncated)
        XCTAssertEqual(page.nextToken, "tok==")
    }
}
