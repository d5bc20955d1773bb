/// CLIP's normaliser and pre-tokenizer, as its tokenizer.json describes them:
///
/// - normaliser: NFC, every run of whitespace (`\s+`) becomes one space, lowercase;
/// - pre-tokenizer: keep the matches of
///   `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
///   and drop what lies between (whitespace).
///
/// The pattern is matched by hand over Unicode scalars: faster than a regex engine and identical in result,
/// because each alternative is either a literal, one scalar, or a maximal run of one character class.
///
/// The ByteLevel step that follows (`use_regex: true`) splits each piece again with GPT-2's pattern; that only
/// changes the literal special-token pieces, so "<|endoftext|>" written in other case (not an added token, since
/// those match the raw text) becomes "<|", "endoftext", "|>".
enum CLIPPreTokenizer {
    static func normalize(_ text: String) -> String {
        var collapsed = String.UnicodeScalarView()
        var inSpace = false
        for scalar in text.precomposedStringWithCanonicalMappingCompat.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inSpace { collapsed.append(" ") }
                inSpace = true
            } else {
                collapsed.append(scalar)
                inSpace = false
            }
        }
        // Lowercase code point by code point with the full Unicode mapping ("İ" → "i̇"), as the Rust tokenizer
        // does; String.lowercased() would apply the context-dependent final-sigma rule ("ΣΑΣ" → "σας").
        var lowered = String.UnicodeScalarView()
        for scalar in collapsed {
            if scalar.isASCII {
                lowered.append(scalar.properties.isUppercase ? Unicode.Scalar(scalar.value + 32)! : scalar)
            } else {
                lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(lowered)
    }

    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }
    private static let specials: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    /// Splits normalised text into pre-tokens.
    static func split(_ text: String, byteLevelRegex: Bool = true) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        func hasPrefix(_ literal: [Unicode.Scalar], at i: Int) -> Bool {
            guard i + literal.count <= scalars.count else { return false }
            for k in 0..<literal.count where scalars[i + k] != literal[k] { return false }
            return true
        }
        func emit(_ range: Range<Int>) {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[range])
            pieces.append(String(s))
        }
        scan: while i < scalars.count {
            let s = scalars[i]
            for special in specials where hasPrefix(special, at: i) {
                if byteLevelRegex {
                    emit(i..<(i + 2)); emit((i + 2)..<(i + special.count - 2)); emit((i + special.count - 2)..<(i + special.count))
                } else {
                    emit(i..<(i + special.count))
                }
                i += special.count
                continue scan
            }
            if s == "'" {
                for c in contractions where hasPrefix(c, at: i + 1) {
                    emit(i..<(i + 1 + c.count)); i += 1 + c.count; continue scan
                }
            }
            if s.properties.isWhitespace { i += 1; continue }
            var j = i + 1
            if isLetter(s) {
                while j < scalars.count, isLetter(scalars[j]) { j += 1 }
            } else if !isNumber(s) {
                while j < scalars.count, !isLetter(scalars[j]), !isNumber(scalars[j]), !scalars[j].properties.isWhitespace { j += 1 }
            }
            emit(i..<j)
            i = j
        }
        return pieces
    }
}

import Foundation

extension String {
    /// NFC (canonical composition), the `NFC` normaliser of tokenizers.
    var precomposedStringWithCanonicalMappingCompat: String { precomposedStringWithCanonicalMapping }
}
