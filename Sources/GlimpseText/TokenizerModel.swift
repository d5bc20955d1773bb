/// The model of a tokenizer.json: one pre-tokenized piece → tokens (id and spelling).
protocol TokenizerModel: Sendable {
    var typeName: String { get }
    func tokenize(_ piece: String) -> [(id: Int, token: String)]
    func id(of token: String) -> Int?
    func token(of id: Int) -> String?
    var vocabularySize: Int { get }
}

/// Token → id, compared byte for byte. Swift's String equality is canonical equivalence ("é" == "e\u{301}"), which
/// would merge tokens that tokenizers keeps apart.
struct Vocabulary: Sendable {
    private var ids: [Key: Int] = [:]

    /// A token's UTF-8 bytes, hashed as one run of bytes (an array of UInt8 hashes byte by byte, which made the
    /// lookups the largest cost of loading a 256k-token vocabulary).
    struct Key: Hashable {
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }
    init() {}
    init(_ table: [String: Int]) {
        ids.reserveCapacity(table.count)
        for (k, v) in table { ids[Key(Array(k.utf8))] = v }
    }
    /// A model's `vocab` object of token → id.
    init(_ c: Component) throws {
        guard let object = c.values["vocab"] as? [String: Any] else { throw c.error("vocab should be an object of token → id") }
        ids.reserveCapacity(object.count)
        for (k, v) in object {
            guard let id = jsonInt(v), id >= 0 else { throw c.error("vocab id of \(k.debugDescription) is not a non-negative integer") }
            ids[Key(Array(k.utf8))] = id
        }
    }

    subscript(_ token: String) -> Int? {
        get { ids[Key(Array(token.utf8))] }
        set { ids[Key(Array(token.utf8))] = newValue }
    }
    subscript(utf8 bytes: [UInt8]) -> Int? { ids[Key(bytes)] }
    var count: Int { ids.count }

    /// The inverse table id → token.
    func inverted() -> [Int: String] {
        var out: [Int: String] = [:]
        out.reserveCapacity(ids.count)
        for (k, v) in ids where out[v] == nil { out[v] = String(decoding: k.bytes, as: UTF8.self) }
        return out
    }
}

extension String {
    /// Prefix test on the bytes: String.hasPrefix compares characters, and "##" + a combining mark is not "##" + anything.
    func hasBytePrefix(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }
    func hasByteSuffix(_ suffix: String) -> Bool { utf8.reversed().starts(with: suffix.utf8.reversed()) }
    /// Every `old` scalar replaced by `new`, scalar by scalar: Foundation's replacingOccurrences matches whole
    /// characters, so it misses a space or "▁" that a combining mark joins to the next character.
    func replacingScalar(_ old: Unicode.Scalar, with new: Unicode.Scalar) -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == old ? new : $0 }))
    }
    /// The string without its first `count` UTF-8 bytes (which must end on a scalar boundary).
    func droppingBytes(_ count: Int) -> String { String(decoding: utf8.dropFirst(count), as: UTF8.self) }
}
