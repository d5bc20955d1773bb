/// GPT-2's reversible map from bytes to printable Unicode characters, used by byte-level BPE so that
/// every byte sequence has a spelling in the vocabulary: printable Latin-1 bytes map to themselves,
/// the rest to U+0100 upwards in byte order.
enum ByteLevelAlphabet {
    static let scalars: [Unicode.Scalar] = {
        var printable = Set<Int>()
        for range in [33...126, 161...172, 174...255] { printable.formUnion(range) }
        var next = 256
        return (0..<256).map { byte in
            if printable.contains(byte) { return Unicode.Scalar(UInt32(byte))! }
            defer { next += 1 }
            return Unicode.Scalar(UInt32(next))!
        }
    }()

    static let bytes: [Unicode.Scalar: UInt8] = Dictionary(uniqueKeysWithValues: scalars.enumerated().map { ($1, UInt8($0)) })

    /// The byte-level spelling of a text's UTF-8 bytes.
    static func encode(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for b in text.utf8 { out.append(scalars[Int(b)]) }
        return String(out)
    }
}
