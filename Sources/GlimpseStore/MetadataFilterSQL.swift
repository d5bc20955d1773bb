import Foundation

/// A `MetadataFilter` as an SQL condition on a JSON metadata column, for SQLite (`json_each`) or PostgreSQL
/// (`jsonb`), with the values as bind parameters. Both dialects mean exactly what `MetadataFilter.Clause.matches`
/// means (the conformance suite checks the stores against it).
///
/// Every clause is `EXISTS` over the field's elements (a list field's items, or the scalar itself), so `=`, `in`
/// and ranges hold when one element does.
struct MetadataFilterSQL {
    enum Dialect { case sqlite, postgres }

    let dialect: Dialect
    /// The metadata column, qualified as the query needs it ("image.metadata").
    let column: String
    /// Bind values in placeholder order.
    private(set) var bindings: [MetadataValue] = []
    /// PostgreSQL numbers its placeholders; the first one this renderer uses.
    private let firstPlaceholder: Int

    init(dialect: Dialect, column: String, firstPlaceholder: Int = 1) {
        self.dialect = dialect
        self.column = column
        self.firstPlaceholder = firstPlaceholder
    }

    private mutating func bind(_ value: MetadataValue) -> String {
        bindings.append(value)
        switch dialect {
        case .sqlite: return "?"
        case .postgres:
            let n = "$\(firstPlaceholder + bindings.count - 1)"
            switch value {
            case .number: return "\(n)::float8"
            default: return "\(n)::text"
            }
        }
    }

    /// The condition for the whole filter ("TRUE" when it is empty).
    mutating func condition(_ filter: MetadataFilter) -> String {
        guard !filter.isEmpty else { return "1 = 1" }
        return filter.clauses.map { "(" + condition($0) + ")" }.joined(separator: " AND ")
    }

    private mutating func condition(_ clause: MetadataFilter.Clause) -> String {
        switch clause.op {
        case .equal, .in:
            return exists(clause.key) { me, e in clause.values.map { me.equals(e, $0) }.joined(separator: " OR ") }
        case .notEqual:
            return present(clause.key) + " AND NOT " + exists(clause.key) { me, e in me.equals(e, clause.values[0]) }
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            return exists(clause.key) { me, e in me.compares(e, clause.op.rawValue, clause.values[0]) }
        case .contains:
            let value = clause.values[0]
            guard case .string = value else { return exists(clause.key) { me, e in me.equals(e, value) } }
            let isList = isArray(clause.key)
            return exists(clause.key) { me, e in
                let equal = me.equals(e, value)
                let needle = me.bind(value)
                let text = me.text(e)
                let substring = switch me.dialect {
                case .sqlite: "\(me.isText(e)) AND instr(lower(\(text)), lower(\(needle))) > 0"
                case .postgres: "\(me.isText(e)) AND strpos(lower(\(text)), lower(\(needle))) > 0"
                }
                return "CASE WHEN \(isList) THEN (\(equal)) ELSE (\(substring)) END"
            }
        }
    }

    // MARK: Dialect pieces

    private func keyLiteral(_ key: String) -> String { "'" + key.replacingOccurrences(of: "'", with: "''") + "'" }

    /// SQLite's JSON path of a top-level key (keys never contain '"': the parser refuses them).
    private func path(_ key: String) -> String { keyLiteral("$.\"" + key + "\"") }

    private func field(_ key: String) -> String { "\(column) -> \(keyLiteral(key))" }

    private func isArray(_ key: String) -> String {
        switch dialect {
        case .sqlite: "json_type(\(column), \(path(key))) = 'array'"
        case .postgres: "jsonb_typeof(\(field(key))) = 'array'"
        }
    }

    private func present(_ key: String) -> String {
        switch dialect {
        case .sqlite: "json_type(\(column), \(path(key))) IS NOT NULL"
        case .postgres: "\(column) ? \(keyLiteral(key))"
        }
    }

    /// EXISTS over the elements `e` of a field (its items when a list, else itself).
    private mutating func exists(_ key: String, _ body: (inout MetadataFilterSQL, String) -> String) -> String {
        let inner = body(&self, "e")
        switch dialect {
        case .sqlite:
            return "EXISTS (SELECT 1 FROM json_each(\(column), \(path(key))) AS e WHERE \(inner))"
        case .postgres:
            let f = field(key)
            return "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(\(f)) = 'array' THEN \(f) ELSE jsonb_build_array(\(f)) END) AS e WHERE \(inner))"
        }
    }

    private func text(_ e: String) -> String {
        switch dialect {
        case .sqlite: "\(e).value"
        case .postgres: "(\(e) #>> '{}')"
        }
    }

    private func isText(_ e: String) -> String {
        switch dialect {
        case .sqlite: "\(e).type = 'text'"
        case .postgres: "jsonb_typeof(\(e)) = 'string'"
        }
    }

    private func isNumber(_ e: String) -> String {
        switch dialect {
        case .sqlite: "\(e).type IN ('integer', 'real')"
        case .postgres: "jsonb_typeof(\(e)) = 'number'"
        }
    }

    private func number(_ e: String) -> String {
        switch dialect {
        case .sqlite: "\(e).value"
        case .postgres: "(\(e) #>> '{}')::float8"
        }
    }

    private mutating func equals(_ e: String, _ value: MetadataValue) -> String {
        switch value {
        case .string: return "(\(isText(e)) AND \(text(e)) = \(bind(value)))"
        case .number: return "(\(isNumber(e)) AND \(number(e)) = \(bind(value)))"
        case let .bool(b):
            return switch dialect {
            case .sqlite: "\(e).type = '\(b ? "true" : "false")'"
            case .postgres: "(jsonb_typeof(\(e)) = 'boolean' AND \(text(e)) = '\(b)')"
            }
        case .list: return "1 = 0"
        }
    }

    private mutating func compares(_ e: String, _ op: String, _ value: MetadataValue) -> String {
        switch value {
        case .string:
            let collate = dialect == .postgres ? " COLLATE \"C\"" : ""
            return "(\(isText(e)) AND \(text(e))\(collate) \(op) \(bind(value)))"
        case .number: return "(\(isNumber(e)) AND \(number(e)) \(op) \(bind(value)))"
        default: return "1 = 0"
        }
    }
}
