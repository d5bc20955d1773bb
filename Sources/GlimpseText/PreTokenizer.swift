import Foundation

/// A piece of normalized text during pre-tokenization; `start` is its UTF-16 offset in the whole text
/// (Metaspace's "first" scheme prepends only at offset 0).
struct Piece {
    var text: String
    var start: Int
}

/// How a split treats the delimiters it finds (tokenizers' SplitDelimiterBehavior).
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    init(_ c: Component, default value: SplitBehavior) throws {
        guard let name = c.optionalString("behavior") else { self = value; return }
        guard let b = SplitBehavior(rawValue: name) else { throw c.error("behavior \(name.debugDescription) is unknown") }
        self = b
    }

    /// Applies the behavior to a covering list of (range, isMatch) and returns the kept ranges.
    func apply(_ splits: [(range: NSRange, isMatch: Bool)]) -> [NSRange] {
        var out: [NSRange] = []
        switch self {
        case .removed: out = splits.filter { !$0.isMatch }.map(\.range)
        case .isolated: out = splits.map(\.range)
        case .mergedWithPrevious:
            var previousMatch = false
            for (r, isMatch) in splits {
                if isMatch && !previousMatch, let last = out.last {
                    out[out.count - 1] = NSRange(location: last.location, length: r.location + r.length - last.location)
                } else { out.append(r) }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (r, isMatch) in splits.reversed() {
                if isMatch && !previousMatch, let last = out.last {
                    out[out.count - 1] = NSRange(location: r.location, length: last.location + last.length - r.location)
                } else { out.append(r) }
                previousMatch = isMatch
            }
            out.reverse()
        case .contiguous:
            var previousMatch = false
            for (r, isMatch) in splits {
                if isMatch == previousMatch, let last = out.last {
                    out[out.count - 1] = NSRange(location: last.location, length: r.location + r.length - last.location)
                } else { out.append(r) }
                previousMatch = isMatch
            }
        }
        return out.filter { $0.length > 0 }
    }
}

/// The pre-tokenizer of a tokenizer.json: normalized text → pieces the model tokenizes one by one.
indirect enum PreTokenizer {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case bert
    case whitespace
    case whitespaceSplit
    case metaspace(replacement: Character, scheme: String, split: Bool)
    case split(TextPattern, SplitBehavior, invert: Bool)
    case punctuation(SplitBehavior)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    /// GPT-2's pattern, which ByteLevel uses with use_regex.
    static let gpt2 = try! NSRegularExpression(pattern: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#)
    static let wordOrSymbols = try! NSRegularExpression(pattern: #"\w+|[^\w\s]+"#)

    init(_ c: Component) throws {
        switch c.type {
        case "ByteLevel": self = .byteLevel(addPrefixSpace: c.bool("add_prefix_space", default: true), useRegex: c.bool("use_regex", default: true))
        case "BertPreTokenizer": self = .bert
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Metaspace":
            let replacement = c.optionalString("replacement") ?? "▁"
            guard replacement.count == 1, let r = replacement.first else { throw c.error("replacement must be one character") }
            self = .metaspace(replacement: r, scheme: try c.metaspacePrependScheme(), split: c.bool("split", default: true))
        case "Split": self = .split(try c.pattern(), try SplitBehavior(c, default: .removed), invert: c.bool("invert", default: false))
        case "Punctuation": self = .punctuation(try SplitBehavior(c, default: .isolated))
        case "Digits": self = .digits(individual: c.bool("individual_digits", default: false))
        case "Sequence": self = .sequence(try c.components("pretokenizers").map(PreTokenizer.init))
        default: throw c.unsupported()
        }
    }

    var name: String {
        switch self {
        case .byteLevel: "ByteLevel"
        case .bert: "BertPreTokenizer"
        case .whitespace: "Whitespace"
        case .whitespaceSplit: "WhitespaceSplit"
        case .metaspace: "Metaspace"
        case .split: "Split"
        case .punctuation: "Punctuation"
        case .digits: "Digits"
        case let .sequence(list): list.map(\.name).joined(separator: "+")
        }
    }

    /// Whether the ByteLevel alphabet is applied (then the model sees byte-level spellings).
    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case let .sequence(list): return list.reduce(pieces) { $1.apply($0) }
        default: return pieces.flatMap(split)
        }
    }

    private func split(_ piece: Piece) -> [Piece] {
        switch self {
        case let .byteLevel(addPrefixSpace, useRegex):
            var p = piece
            if addPrefixSpace, !p.text.hasBytePrefix(" ") { p.text = " " + p.text }
            let parts = useRegex ? Self.cut(p, TextPattern.regex(Self.gpt2).splits(p.text).map { ($0.range, !$0.isMatch) }, .removed) : [p]
            return parts.map { Piece(text: ByteLevelAlphabet.encode($0.text), start: $0.start) }
        case .bert:
            let words = Self.cut(piece, Self.scalarSplits(piece.text) { Normalizer.isBertWhitespace($0) }, .removed)
            return words.flatMap { Self.cut($0, Self.scalarSplits($0.text, Self.isPunctuation), .isolated) }
        case .whitespace:
            return Self.cut(piece, TextPattern.regex(Self.wordOrSymbols).splits(piece.text).map { ($0.range, !$0.isMatch) }, .removed)
        case .whitespaceSplit:
            return Self.cut(piece, Self.scalarSplits(piece.text) { $0.properties.isWhitespace }, .removed)
        case let .metaspace(replacement, scheme, split):
            var text = TextPattern.string(" ").replacingAll(in: piece.text, with: String(replacement))
            if !text.hasBytePrefix(String(replacement)), scheme == "always" || (scheme == "first" && piece.start == 0) {
                text = String(replacement) + text
            }
            let p = Piece(text: text, start: piece.start)
            guard split else { return [p] }
            return Self.cut(p, Self.scalarSplits(text) { Character($0) == replacement }, .mergedWithNext)
        case let .split(pattern, behavior, invert):
            let splits = pattern.splits(piece.text).map { ($0.range, invert ? !$0.isMatch : $0.isMatch) }
            return Self.cut(piece, splits, behavior)
        case let .punctuation(behavior):
            return Self.cut(piece, Self.scalarSplits(piece.text, Self.isPunctuation), behavior)
        case let .digits(individual):
            return Self.cut(piece, Self.scalarSplits(piece.text) { Self.isNumeric($0) }, individual ? .isolated : .contiguous)
        case .sequence:
            return apply([piece])
        }
    }

    /// The piece cut by a behavior over covering (range, isMatch) splits.
    static func cut(_ piece: Piece, _ splits: [(range: NSRange, isMatch: Bool)], _ behavior: SplitBehavior) -> [Piece] {
        let ns = piece.text as NSString
        return behavior.apply(splits).map { Piece(text: ns.substring(with: $0), start: piece.start + $0.location) }
    }

    /// Each scalar for which `isDelimiter` holds is its own match; the runs between are non-matches.
    static func scalarSplits(_ text: String, _ isDelimiter: (Unicode.Scalar) -> Bool) -> [(range: NSRange, isMatch: Bool)] {
        var out: [(NSRange, Bool)] = []
        var position = 0, runStart = 0
        for s in text.unicodeScalars {
            let width = s.value > 0xFFFF ? 2 : 1
            if isDelimiter(s) {
                if position > runStart { out.append((NSRange(location: runStart, length: position - runStart), false)) }
                out.append((NSRange(location: position, length: width), true))
                runStart = position + width
            }
            position += width
        }
        if position > runStart { out.append((NSRange(location: runStart, length: position - runStart), false)) }
        return out
    }

    /// ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) or a Unicode punctuation category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII {
            let v = s.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// Rust's char::is_numeric: Nd, Nl, No.
    static func isNumeric(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
