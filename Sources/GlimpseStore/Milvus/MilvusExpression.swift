import Foundation

/// Milvus boolean expressions (the `expr`/`filter` of queries, searches and deletes): literals, and metadata
/// filters translated onto the JSON `metadata` field.
enum MilvusExpression {
    /// A string literal, quoted and escaped.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 9.0e15 ? String(Int64(value)) : "\(value)"
    }

    static func literal(_ value: MetadataValue) -> String? {
        switch value {
        case let .string(s): string(s)
        case let .number(n): n.isFinite ? number(n) : nil
        case let .bool(b): b ? "true" : "false"
        case .list: nil
        }
    }

    static func ids(_ ids: [Int64]) -> String { "id in [" + ids.map(String.init).joined(separator: ", ") + "]" }

    static func strings(field: String, in values: [String]) -> String {
        "\(field) in [" + values.map(string).joined(separator: ", ") + "]"
    }

    /// A filter as an expression that selects every image the filter matches, and `exact` when it selects no
    /// others. Milvus cannot say everything the filter syntax means (a range over a list's elements, a text's
    /// substring ignoring case), so those clauses select a superset and the store checks each candidate against
    /// `MetadataFilter.matches`, the reference every store follows.
    static func filter(_ filter: MetadataFilter) -> (expression: String, exact: Bool) {
        var parts: [String] = []
        var exact = true
        for clause in filter.clauses {
            let (part, isExact) = self.clause(clause)
            parts.append("(\(part))")
            exact = exact && isExact
        }
        return (parts.joined(separator: " and "), exact)
    }

    private static func clause(_ clause: MetadataFilter.Clause) -> (String, Bool) {
        let field = "metadata[\(string(clause.key))]"
        // Parenthesised: Milvus 2.3 parses `exists a and b` as `exists (a and b)`.
        let present = "(exists \(field))"
        let literals = clause.values.compactMap(literal)
        guard literals.count == clause.values.count, !literals.isEmpty else { return (present, false) }
        /// The field equals the value, or is a list holding it.
        func equal(_ value: String) -> String { "\(field) == \(value) or json_contains(\(field), \(value))" }
        // A list with a first element (an empty list satisfies no clause).
        let isList = "(exists \(field)[0])"
        switch clause.op {
        case .equal:
            return (equal(literals[0]), true)
        case .in:
            let any = "json_contains_any(\(field), [\(literals.joined(separator: ", "))])"
            return ((literals.map { "\(field) == \($0)" } + [any]).joined(separator: " or "), true)
        case .notEqual:
            return ("\(present) and not (\(equal(literals[0])))", true)
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            // A scalar compares exactly; a list's elements are checked by the store.
            return ("\(field) \(clause.op.rawValue) \(literals[0]) or (\(isList))", false)
        case .contains:
            if case .string = clause.values[0] {
                // A list holding it, or any text (a substring ignoring case is checked by the store).
                return ("json_contains(\(field), \(literals[0])) or \(field) >= \"\"", false)
            }
            return (equal(literals[0]), true)
        }
    }
}
