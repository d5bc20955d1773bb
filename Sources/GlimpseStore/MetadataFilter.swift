import Foundation

/// A filter on image metadata: clauses that must all hold (AND).
///
/// Syntax of a clause: `key op value`.
/// - `key`: a word (`photographer`, `exif.camera`), or a quoted name (`"photo location"`).
/// - `op`: `=` (also `==`), `!=`, `<`, `<=`, `>`, `>=`, `in`, `contains`.
/// - `value`: a string in double or single quotes, a number, `true`/`false`, or a bare word (a string);
///   after `in`, a list: `("a", "b", 3)`.
/// Several clauses may be joined with `and` in one text.
///
/// Meaning, the same in every store:
/// - A list field (keywords, tags) satisfies `=`, `in` and ranges when one of its elements does.
/// - `contains`: a list field has an element equal to the value; a text field contains it (ignoring case).
/// - `!=`: the field is present and no element equals the value.
/// - Numbers compare as numbers and texts as texts (ISO dates in order); a text never equals a number.
/// - An image without the field matches no clause on it.
public struct MetadataFilter: Sendable, Equatable, CustomStringConvertible {
    public var clauses: [Clause]

    public init(clauses: [Clause] = []) { self.clauses = clauses }

    public var isEmpty: Bool { clauses.isEmpty }

    public struct Clause: Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var op: Operator
        /// One value, or several for `in`.
        public var values: [MetadataValue]
        /// The clause as the user wrote it (for errors).
        public var text: String

        public init(key: String, op: Operator, values: [MetadataValue], text: String? = nil) {
            self.key = key; self.op = op; self.values = values
            self.text = text ?? "\(key) \(op.rawValue) \(values.map(\.description).joined(separator: ", "))"
        }

        public var description: String { text }

        /// Whether `metadata` satisfies the clause (the reference the stores' SQL is tested against).
        public func matches(_ metadata: ImageMetadata) -> Bool {
            guard let field = metadata[key] else { return false }
            let elements: [MetadataValue] = if case let .list(items) = field { items } else { [field] }
            switch op {
            case .equal, .in: return elements.contains { e in values.contains { Self.equal(e, $0) } }
            case .notEqual: return !elements.contains { Self.equal($0, values[0]) }
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                return elements.contains { e in Self.compare(e, values[0]).map { op.holds(for: $0) } ?? false }
            case .contains:
                if case .list = field { return elements.contains { Self.equal($0, values[0]) } }
                guard case let .string(text) = field, case let .string(needle) = values[0] else { return Self.equal(field, values[0]) }
                return text.lowercased().contains(needle.lowercased())
            }
        }

        static func equal(_ a: MetadataValue, _ b: MetadataValue) -> Bool {
            switch (a, b) {
            case let (.string(x), .string(y)): x == y
            case let (.number(x), .number(y)): x == y
            case let (.bool(x), .bool(y)): x == y
            default: false
            }
        }

        /// -1, 0 or 1 when both are numbers or both texts; nil otherwise.
        static func compare(_ a: MetadataValue, _ b: MetadataValue) -> Int? {
            switch (a, b) {
            case let (.number(x), .number(y)): x < y ? -1 : (x == y ? 0 : 1)
            // Byte order, as SQLite's BINARY collation and PostgreSQL's "C" collation compare.
            case let (.string(x), .string(y)): Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8)) ? -1 : (x == y ? 0 : 1)
            default: nil
            }
        }
    }

    public enum Operator: String, Sendable, Equatable, CaseIterable {
        case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case `in` = "in", contains = "contains"

        func holds(for ordering: Int) -> Bool {
            switch self {
            case .less: ordering < 0
            case .lessOrEqual: ordering <= 0
            case .greater: ordering > 0
            case .greaterOrEqual: ordering >= 0
            default: false
            }
        }
    }

    /// Whether `metadata` satisfies every clause.
    public func matches(_ metadata: ImageMetadata) -> Bool { clauses.allSatisfy { $0.matches(metadata) } }

    public var description: String { clauses.map(\.text).joined(separator: " and ") }
}

/// A filter that cannot be understood, naming the clause and what is wrong.
public struct MetadataFilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var clause: String
    public var reason: String
    public init(clause: String, reason: String) { self.clause = clause; self.reason = reason }
    public var description: String { "invalid filter clause '\(clause)': \(reason)" }
}

extension MetadataFilter {
    /// Parses clauses (each may hold several joined by `and`) into one filter.
    public init(parsing texts: [String]) throws {
        var clauses: [Clause] = []
        for text in texts {
            var parser = FilterParser(text)
            clauses += try parser.parse()
        }
        self.init(clauses: clauses)
    }
}

/// A small recursive-descent parser for the clause syntax above.
struct FilterParser {
    enum Token: Equatable {
        case word(String), quoted(String), number(Double), op(String), open, close, comma
    }

    let text: String
    var tokens: [(token: Token, start: String.Index)] = []
    var position = 0

    init(_ text: String) { self.text = text }

    func error(_ reason: String, clause: String? = nil) -> MetadataFilterError {
        MetadataFilterError(clause: (clause ?? text).trimmingCharacters(in: .whitespaces), reason: reason)
    }

    mutating func tokenize() throws {
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c.isWhitespace { i = text.index(after: i); continue }
            let start = i
            if c == "\"" || c == "'" {
                var value = ""
                i = text.index(after: i)
                var closed = false
                while i < text.endIndex {
                    let d = text[i]
                    if d == "\\", text.index(after: i) < text.endIndex {
                        i = text.index(after: i); value.append(text[i]); i = text.index(after: i); continue
                    }
                    if d == c { closed = true; i = text.index(after: i); break }
                    value.append(d); i = text.index(after: i)
                }
                guard closed else { throw error("a quote (\(c)) is not closed") }
                tokens.append((.quoted(value), start))
            } else if "=!<>".contains(c) {
                var op = String(c)
                i = text.index(after: i)
                if i < text.endIndex, text[i] == "=" { op.append("="); i = text.index(after: i) }
                guard op != "!" else { throw error("'!' must be followed by '='") }
                tokens.append((.op(op == "==" ? "=" : op), start))
            } else if c == "(" || c == "[" { tokens.append((.open, start)); i = text.index(after: i) }
            else if c == ")" || c == "]" { tokens.append((.close, start)); i = text.index(after: i) }
            else if c == "," { tokens.append((.comma, start)); i = text.index(after: i) }
            else {
                while i < text.endIndex, !text[i].isWhitespace, !"=!<>()[],\"'".contains(text[i]) { i = text.index(after: i) }
                let word = String(text[start..<i])
                if let number = MetadataValue.canonicalNumber(word) ?? (word.hasPrefix("+") || word.hasPrefix(".") ? Double(word) : nil) {
                    tokens.append((.number(number), start))
                } else {
                    tokens.append((.word(word), start))
                }
            }
        }
    }

    mutating func parse() throws -> [MetadataFilter.Clause] {
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else { throw error("contains a control character") }
        try tokenize()
        guard !tokens.isEmpty else { throw error("empty filter") }
        var clauses: [MetadataFilter.Clause] = []
        while position < tokens.count {
            let start = tokens[position].start
            var clause = try parseClause()
            let end = position < tokens.count ? tokens[position].start : text.endIndex
            clause.text = text[start..<end].trimmingCharacters(in: .whitespaces)
            clauses.append(clause)
            if position < tokens.count {
                guard case let .word(w) = tokens[position].token, w.lowercased() == "and" else {
                    throw error("expected 'and' before '\(text[tokens[position].start...])'")
                }
                position += 1
                guard position < tokens.count else { throw error("nothing after 'and'") }
            }
        }
        return clauses
    }

    mutating func parseClause() throws -> MetadataFilter.Clause {
        let clauseStart = tokens[position].start
        func rest() -> String { String(text[clauseStart...]) }
        let key: String
        switch tokens[position].token {
        case let .word(w): key = w
        case let .quoted(q): key = q
        default: throw error("a clause starts with a field name", clause: rest())
        }
        guard !key.isEmpty else { throw error("empty field name", clause: rest()) }
        guard !key.contains("\"") else { throw error("a field name cannot contain '\"'", clause: rest()) }
        position += 1
        guard position < tokens.count else {
            throw error("missing operator after '\(key)' (use =, !=, <, <=, >, >=, in or contains)", clause: rest())
        }
        let op: MetadataFilter.Operator
        switch tokens[position].token {
        case let .op(o): op = MetadataFilter.Operator(rawValue: o)!
        case let .word(w) where ["in", "contains"].contains(w.lowercased()): op = MetadataFilter.Operator(rawValue: w.lowercased())!
        default: throw error("expected an operator (=, !=, <, <=, >, >=, in, contains) after '\(key)'", clause: rest())
        }
        position += 1
        var values: [MetadataValue] = []
        if op == .in {
            guard position < tokens.count, tokens[position].token == .open else {
                throw error("'in' takes a list in parentheses, e.g. (\"a\", \"b\")", clause: rest())
            }
            position += 1
            while true {
                guard position < tokens.count else { throw error("the list after 'in' is not closed", clause: rest()) }
                if tokens[position].token == .close, values.isEmpty { throw error("the list after 'in' is empty", clause: rest()) }
                values.append(try parseValue(clause: rest()))
                guard position < tokens.count else { throw error("the list after 'in' is not closed", clause: rest()) }
                if tokens[position].token == .comma { position += 1; continue }
                if tokens[position].token == .close { position += 1; break }
                throw error("expected ',' or ')' in the list after 'in'", clause: rest())
            }
        } else {
            guard position < tokens.count else { throw error("missing value after '\(op.rawValue)'", clause: rest()) }
            let value = try parseValue(clause: rest())
            if [.less, .lessOrEqual, .greater, .greaterOrEqual].contains(op), case .bool = value {
                throw error("'\(op.rawValue)' compares numbers or texts, not true/false", clause: rest())
            }
            values.append(value)
        }
        return MetadataFilter.Clause(key: key, op: op, values: values, text: rest())
    }

    mutating func parseValue(clause: String) throws -> MetadataValue {
        defer { position += 1 }
        switch tokens[position].token {
        case let .quoted(q): return .string(q)
        case let .number(n): return .number(n)
        case let .word(w):
            switch w.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "and": throw error("missing value before 'and'", clause: clause)
            default: return .string(w)
            }
        default: throw error("expected a value (a quoted text, a number, true or false)", clause: clause)
        }
    }
}
