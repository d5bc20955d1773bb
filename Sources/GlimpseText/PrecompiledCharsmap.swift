import Foundation

/// SentencePiece's precompiled normalization rules (`precompiled_charsmap`): a Darts double-array trie over UTF-8
/// byte strings whose values point into a blob of NUL-terminated replacements. Laid out as a little-endian u32 trie
/// size in bytes, the trie's u32 units, then the blob.
struct PrecompiledCharsmap {
    let units: [UInt32]
    let normalized: [UInt8]

    init(data: Data, source: String) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw TokenizerError.unreadable(path: source, reason: "precompiled_charsmap is shorter than its header") }
        let trieSize = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard trieSize % 4 == 0, trieSize <= bytes.count - 4 else {
            throw TokenizerError.unreadable(path: source, reason: "precompiled_charsmap trie size \(trieSize) does not fit its \(bytes.count) bytes")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in units.indices {
            let o = 4 + 4 * i
            units[i] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        self.units = units
        normalized = Array(bytes[(4 + trieSize)...])
    }

    /// Values of every key in the trie that is a prefix of `key`, shortest first.
    func commonPrefixSearch<C: Collection>(_ key: C) -> [Int] where C.Element == UInt8 {
        commonPrefixMatches(key).map(\.value)
    }

    /// Every key in the trie that is a prefix of `key`, shortest first, with its length in bytes.
    func commonPrefixMatches<C: Collection>(_ key: C) -> [(value: Int, length: Int)] where C.Element == UInt8 {
        func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
        func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
        func label(_ u: UInt32) -> UInt32 { u & ((1 << 31) | 0xFF) }
        func value(_ u: UInt32) -> Int { Int(u & ((1 << 31) - 1)) }
        var results: [(value: Int, length: Int)] = []
        guard !units.isEmpty else { return results }
        var position = 0
        position ^= offset(units[position])
        for (length, c) in key.enumerated() {
            if c == 0 { break }
            position ^= Int(c)
            guard position >= 0, position < units.count else { return results }
            let unit = units[position]
            if label(unit) != UInt32(c) { return results }
            position ^= offset(unit)
            guard position < units.count else { return results }
            if hasLeaf(unit) { results.append((value(units[position]), length + 1)) }
        }
        return results
    }

    /// The replacement of a chunk whose beginning is a rule's key (the shortest such key), as spm_precompiled does.
    func transform<C: Collection>(_ chunk: C) -> [UInt8]? where C.Element == UInt8 {
        guard let start = commonPrefixSearch(chunk).first, start < normalized.count else { return nil }
        var end = start
        while end < normalized.count, normalized[end] != 0 { end += 1 }
        return Array(normalized[start..<end])
    }

    /// The text as sentencepiece's own normalizer rewrites it: at each position the longest rule whose key starts
    /// there, else one character unchanged. (Hugging Face's Precompiled normalizer, `normalize`, goes grapheme by
    /// grapheme instead, and differs on sequences such as "e" + three combining accents.)
    func normalizeLikeSentencePiece(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if let longest = commonPrefixMatches(bytes[i...]).last, longest.value < normalized.count {
                var end = longest.value
                while end < normalized.count, normalized[end] != 0 { end += 1 }
                out += normalized[longest.value..<end]
                i += longest.length
                continue
            }
            // One UTF-8 character (text is valid UTF-8: its length follows from the lead byte).
            let lead = bytes[i]
            let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            out += bytes[i..<min(i + length, bytes.count)]
            i += length
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Graphemes shorter than 6 bytes are looked up whole; otherwise (or when absent) each character is.
    func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let bytes = Array(String(grapheme).utf8)
            if bytes.count < 6, let replacement = transform(bytes) { out += replacement; continue }
            for scalar in grapheme.unicodeScalars {
                let part = Array(String(scalar).utf8)
                if let replacement = transform(part) { out += replacement } else { out += part }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
