/// GPT-2's reversible map from bytes to printable Unicode characters, used by byte-level BPE so that
/// every byte sequence has a spelling in the vocabulary: printable Latin-1 bytes map to themselves,
/// the rest to U+0100 upwards in byte order.
enum ByteLevelAlphabet {
    static let characters: [Character] = {
        var printable = Set<Int>()
        for range in [33...126, 161...172, 174...255] { printable.formUnion(range) }
        var next = 256
        return (0..<256).map { byte in
            if printable.contains(byte) { return Character(Unicode.Scalar(UInt32(byte))!) }
            defer { next += 1 }
            return Character(Unicode.Scalar(UInt32(next))!)
        }
    }()
}
