import Foundation

/// The decoder of a tokenizer.json: tokens → text (the caption path turns generated ids back into words with it).
indirect enum TokenDecoder {
    case byteLevel
    case wordPiece(prefix: String, cleanup: Bool)
    case metaspace(replacement: Character, prependScheme: String)
    case byteFallback
    case fuse
    case strip(content: Character, start: Int, stop: Int)
    case replace(TextPattern, String)
    case bpe(suffix: String)
    case ctc(padToken: String, wordDelimiter: String, cleanup: Bool)
    case sequence([TokenDecoder])

    init(_ c: Component) throws {
        switch c.type {
        case "ByteLevel": self = .byteLevel
        case "WordPiece": self = .wordPiece(prefix: c.optionalString("prefix") ?? "##", cleanup: c.bool("cleanup", default: true))
        case "Metaspace":
            let r = c.optionalString("replacement") ?? "▁"
            guard r.count == 1, let replacement = r.first else { throw c.error("replacement must be one character") }
            self = .metaspace(replacement: replacement, prependScheme: try c.metaspacePrependScheme())
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = c.optionalString("content") ?? " "
            guard content.count == 1, let ch = content.first else { throw c.error("content must be one character") }
            self = .strip(content: ch, start: c.int("start") ?? 0, stop: c.int("stop") ?? 0)
        case "Replace": self = .replace(try c.pattern(), try c.string("content"))
        case "BPEDecoder": self = .bpe(suffix: c.optionalString("suffix") ?? "</w>")
        case "CTC": self = .ctc(padToken: c.optionalString("pad_token") ?? "<pad>", wordDelimiter: c.optionalString("word_delimiter_token") ?? "|",
                                cleanup: c.bool("cleanup", default: true))
        case "Sequence": self = .sequence(try c.components("decoders").map(TokenDecoder.init))
        default: throw c.unsupported()
        }
    }

    var name: String {
        switch self {
        case .byteLevel: "ByteLevel"
        case .wordPiece: "WordPiece"
        case .metaspace: "Metaspace"
        case .byteFallback: "ByteFallback"
        case .fuse: "Fuse"
        case .strip: "Strip"
        case .replace: "Replace"
        case .bpe: "BPEDecoder"
        case .ctc: "CTC"
        case let .sequence(list): list.map(\.name).joined(separator: "+")
        }
    }

    /// tokenizers' decode_chain: each decoder maps the token list to a new one; the caller joins the result.
    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case let .sequence(list): return list.reduce(tokens) { $1.decodeChain($0) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                var tokenBytes: [UInt8] = []
                var ok = true
                for s in t.unicodeScalars {
                    guard let b = ByteLevelAlphabet.bytes[s] else { ok = false; break }
                    tokenBytes.append(b)
                }
                bytes += ok ? tokenBytes : Array(t.utf8)
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { i, token in
                var t = token
                if i != 0 {
                    if t.hasBytePrefix(prefix) { t = t.droppingBytes(prefix.utf8.count) } else { t = " " + t }
                }
                return cleanup ? Self.cleanup(t) : t
            }
        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { i, token in
                var out = String.UnicodeScalarView()
                let r = replacement.unicodeScalars.first!
                for ch in token.unicodeScalars {
                    if ch == r {
                        if i == 0 && scheme != "never" && out.isEmpty { continue }
                        out.append(" ")
                    } else { out.append(ch) }
                }
                return String(out)
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6, t.hasBytePrefix("<0x"), t.hasByteSuffix(">"), let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush(); out.append(t)
                }
            }
            flush()
            return out
        case .fuse: return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                let chars = Array(token.unicodeScalars)
                let content = content.unicodeScalars.first!
                var startCut = 0
                for i in 0..<min(start, chars.count) { if chars[i] == content { startCut = i + 1 } else { break } }
                var stopCut = chars.count
                for i in 0..<min(stop, chars.count) {
                    let index = chars.count - i - 1
                    if index >= startCut, chars[index] == content { stopCut = index } else { break }
                }
                return startCut < stopCut ? String(String.UnicodeScalarView(chars[startCut..<stopCut])) : ""
            }
        case let .replace(pattern, content): return tokens.map { pattern.replacingAll(in: $0, with: content) }
        case let .bpe(suffix):
            return tokens.enumerated().map { i, t in t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ") }
        case let .ctc(padToken, wordDelimiter, cleanup):
            var deduplicated: [String] = []
            for t in tokens where deduplicated.last != t { deduplicated.append(t) }
            return deduplicated.filter { $0 != padToken }.map { t in
                var s = t.replacingOccurrences(of: wordDelimiter, with: " ")
                if cleanup { s = Self.cleanup(s) }
                return s
            }
        }
    }

    /// tokenizers' wordpiece cleanup of spaces before punctuation and contractions.
    static func cleanup(_ s: String) -> String {
        var t = s
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                       (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            t = t.replacingOccurrences(of: a, with: b)
        }
        return t
    }
}
