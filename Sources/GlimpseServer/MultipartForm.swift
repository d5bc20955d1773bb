/// A `multipart/form-data` body split into its parts (RFC 7578), enough for image uploads.
public struct MultipartForm: Sendable {
    public struct Part: Sendable {
        public let name: String
        public let filename: String?
        public let contentType: String?
        public let body: [UInt8]
    }

    public let parts: [Part]

    public func part(named name: String) -> Part? { parts.first { $0.name == name } }

    /// The boundary of a `multipart/form-data; boundary=...` content type.
    public static func boundary(contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2
                    ? String(pair[1].dropFirst().dropLast()) : pair[1]
                return value.isEmpty || value.count > 200 ? nil : value
            }
        }
        return nil
    }

    public init(body: [UInt8], boundary: String) throws {
        let delimiter = Array("--\(boundary)".utf8)
        let crlf: [UInt8] = [13, 10]
        guard var position = Self.find(delimiter, in: body, from: 0) else {
            throw APIError.malformedMultipart(reason: "the boundary never appears")
        }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            if body.count >= position + 2, body[position] == 45, body[position + 1] == 45 { break }  // "--": the end
            guard body.count >= position + 2, Array(body[position..<(position + 2)]) == crlf else {
                throw APIError.malformedMultipart(reason: "a boundary is not followed by a line break")
            }
            position += 2
            guard let headerEnd = Self.find([13, 10, 13, 10], in: body, from: position) else {
                throw APIError.malformedMultipart(reason: "a part has no end of headers")
            }
            let headerText = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = Self.find(crlf + delimiter, in: body, from: contentStart) else {
                throw APIError.malformedMultipart(reason: "the closing boundary is missing")
            }
            var name: String?, filename: String?, contentType: String?
            for line in headerText.split(separator: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let field = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
                let value = pair[1].trimmingCharacters(in: .whitespaces)
                if field == "content-disposition" {
                    name = Self.parameter("name", in: value)
                    filename = Self.parameter("filename", in: value)
                } else if field == "content-type" {
                    contentType = value
                }
            }
            guard let name else { throw APIError.malformedMultipart(reason: "a part has no name") }
            parts.append(Part(name: name, filename: filename, contentType: contentType, body: Array(body[contentStart..<next])))
            position = next + 2
        }
        self.parts = parts
    }

    static func parameter(_ key: String, in header: String) -> String? {
        for item in header.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    /// The first index at or after `start` where `needle` occurs in `haystack`, by Knuth–Morris–Pratt: linear
    /// in the body size. A naive scan costs body × boundary length (up to 202 bytes) on a body crafted to almost
    /// match the boundary everywhere.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        // failure[i]: length of the longest proper prefix of needle[0...i] that is also its suffix.
        var failure = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in 1..<max(needle.count, 1) {
            while k > 0 && needle[i] != needle[k] { k = failure[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            failure[i] = k
        }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                failure.withUnsafeBufferPointer { f in
                    var matched = 0
                    for i in start..<h.count {
                        let byte = h[i]
                        while matched > 0 && byte != n[matched] { matched = f[matched - 1] }
                        if byte == n[matched] { matched += 1 }
                        if matched == n.count { return i - n.count + 1 }
                    }
                    return nil
                }
            }
        }
    }
}
