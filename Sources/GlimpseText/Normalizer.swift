import Foundation

/// The normalizer of a tokenizer.json: text → text before pre-tokenization.
indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd, lowercase, stripAccents
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case replace(TextPattern, String)
    case prepend(String)
    case strip(left: Bool, right: Bool)
    case precompiled(PrecompiledCharsmap?)
    case sequence([Normalizer])

    init(_ c: Component) throws {
        switch c.type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "BertNormalizer":
            let lowercase = c.bool("lowercase", default: true)
            self = .bert(cleanText: c.bool("clean_text", default: true), handleChineseChars: c.bool("handle_chinese_chars", default: true),
                         stripAccents: jsonBool(c.values["strip_accents"]) ?? lowercase, lowercase: lowercase)
        case "Replace": self = .replace(try c.pattern(), try c.string("content"))
        case "Prepend": self = .prepend(try c.string("prepend"))
        case "Strip": self = .strip(left: c.bool("strip_left", default: true), right: c.bool("strip_right", default: true))
        case "Precompiled":
            let encoded = c.optionalString("precompiled_charsmap") ?? ""
            if encoded.isEmpty { self = .precompiled(nil); break }
            guard let data = Data(base64Encoded: encoded) else { throw c.error("precompiled_charsmap is not base64") }
            self = .precompiled(try PrecompiledCharsmap(data: data, source: c.source))
        case "Sequence": self = .sequence(try c.components("normalizers").map(Normalizer.init))
        default: throw c.unsupported()
        }
    }

    var name: String {
        switch self {
        case .nfc: "NFC"
        case .nfd: "NFD"
        case .nfkc: "NFKC"
        case .nfkd: "NFKD"
        case .lowercase: "Lowercase"
        case .stripAccents: "StripAccents"
        case .bert: "BertNormalizer"
        case .replace: "Replace"
        case .prepend: "Prepend"
        case .strip: "Strip"
        case .precompiled: "Precompiled"
        case let .sequence(list): list.map(\.name).joined(separator: "+")
        }
    }

    func apply(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        // Foundation's NFKC on Linux leaves some compositions undone (halfwidth ｶﾞ stays カ + U+3099); NFKC output is
        // NFC-stable, so composing once more is exact where Foundation was right and fixes it where not.
        case .nfkc: return text.precomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return Self.lowercase(text)
        case .stripAccents: return Self.removeMarks(text)
        case let .bert(cleanText, handleChineseChars, stripAccents, lowercase):
            var out = String.UnicodeScalarView()
            for s in text.unicodeScalars {
                if cleanText {
                    if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
                    if Self.isBertWhitespace(s) { out.append(" "); continue }
                }
                if handleChineseChars, Self.isChineseChar(s) {
                    out.append(" "); out.append(s); out.append(" ")
                } else {
                    out.append(s)
                }
            }
            var result = String(out)
            if stripAccents { result = Self.removeNonspacingMarks(result.decomposedStringWithCanonicalMapping) }
            if lowercase { result = Self.lowercase(result) }
            return result
        case let .replace(pattern, content): return pattern.replacingAll(in: text, with: content)
        case let .prepend(prefix): return text.isEmpty ? text : prefix + text
        case let .strip(left, right):
            var scalars = Substring(text).unicodeScalars[...]
            if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
            return String(String.UnicodeScalarView(scalars))
        case let .precompiled(map): return map?.normalize(text) ?? text
        case let .sequence(list): return list.reduce(text) { $1.apply($0) }
        }
    }

    /// Rust's char::to_lowercase, one character at a time (no final-sigma rule, as tokenizers does).
    static func lowercase(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.isASCII { out.append(Unicode.Scalar(UInt8(ascii: s) | (s.properties.isUppercase ? 0x20 : 0))); continue }
            let mapping = s.properties.lowercaseMapping
            out.append(contentsOf: mapping.unicodeScalars)
        }
        return String(out)
    }

    static func removeNonspacingMarks(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars where s.properties.generalCategory != .nonspacingMark { out.append(s) }
        return String(out)
    }

    /// The StripAccents normalizer drops every combining mark (Mn, Mc, Me); BertNormalizer only nonspacing ones.
    static func removeMarks(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            switch s.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: out.append(s)
            }
        }
        return String(out)
    }

    static func isBertWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    /// tokenizers' is_control: \t \n \r are whitespace; otherwise Cc, Cf, Cs, Co (unassigned code points are kept and become unk).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse: return true
        default: return false
        }
    }

    static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B920...0x2CEAF,
             0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
