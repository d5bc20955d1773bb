/// Why a tokenizer could not be loaded; every case names the file.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case missingFiles(directory: String)
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFiles(directory):
            "\(directory): no tokenizer.json, no vocab.json + merges.txt, no vocab.txt and no spiece.model"
        case let .unreadable(path, reason): "\(path): \(reason)"
        case let .unsupported(path, reason): "\(path): unsupported tokenizer: \(reason)"
        }
    }
}

/// A tokenizer.json component, read as JSON, with errors that name the file and the component.
struct Component {
    let values: [String: Any]
    let source: String
    let kind: String

    init(_ any: Any?, source: String, kind: String) throws {
        guard let values = any as? [String: Any] else { throw TokenizerError.unreadable(path: source, reason: "\(kind) is not an object") }
        self.values = values; self.source = source; self.kind = kind
    }

    var type: String { values["type"] as? String ?? "" }

    func string(_ key: String) throws -> String {
        guard let s = values[key] as? String else { throw error("\"\(key)\" should be a string") }
        return s
    }
    func optionalString(_ key: String) -> String? { values[key] as? String }
    func bool(_ key: String, default value: Bool) -> Bool { jsonBool(values[key]) ?? value }
    func int(_ key: String) -> Int? { jsonInt(values[key]) }
    func list(_ key: String) throws -> [Any] {
        guard let a = values[key] as? [Any] else { throw error("\"\(key)\" should be a list") }
        return a
    }
    func components(_ key: String) throws -> [Component] {
        try list(key).map { try Component($0, source: source, kind: kind) }
    }
    /// A pattern written as {"String": s} or {"Regex": r}.
    func pattern(_ key: String = "pattern") throws -> TextPattern {
        guard let p = values[key] as? [String: Any] else { throw error("\"\(key)\" should be {\"String\": …} or {\"Regex\": …}") }
        if let s = p["String"] as? String { return .string(s) }
        if let r = p["Regex"] as? String {
            do { return .regex(try NSRegularExpression(pattern: r)) } catch { throw self.error("regex \(r.debugDescription) does not compile: \(error)") }
        }
        throw error("\"\(key)\" should be {\"String\": …} or {\"Regex\": …}")
    }
    /// Metaspace's prepend_scheme (always / first / never), or the legacy add_prefix_space flag.
    func metaspacePrependScheme() throws -> String {
        var scheme = optionalString("prepend_scheme") ?? "always"
        if values["prepend_scheme"] == nil, let legacy = jsonBool(values["add_prefix_space"]) { scheme = legacy ? "always" : "never" }
        guard ["always", "first", "never"].contains(scheme) else { throw error("prepend_scheme \(scheme.debugDescription) is unknown") }
        return scheme
    }

    func error(_ reason: String) -> TokenizerError {
        .unreadable(path: source, reason: "\(kind) \(type.isEmpty ? "" : type + " ")\(reason)")
    }
    func unsupported() -> TokenizerError {
        .unsupported(path: source, reason: "\(kind) type \"\(type)\" is not supported")
    }
}

import Foundation

/// JSON null. `value is NSNull` would bridge a whole Swift dictionary or array to Foundation objects just to ask
/// (a quarter of the load time of a 256k-token tokenizer.json); the dynamic type answers without copying.
func isJSONNull(_ any: Any) -> Bool { type(of: any) == NSNull.self }

func jsonBool(_ any: Any?) -> Bool? {
    if let b = any as? Bool { return b }
    if let n = any as? NSNumber { return n.boolValue }
    return nil
}

func jsonInt(_ any: Any?) -> Int? {
    if let n = any as? NSNumber {
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9e15 else { return nil }
        return Int(d)
    }
    if let i = any as? Int { return i }
    return nil
}

func jsonDouble(_ any: Any?) -> Double? {
    if let n = any as? NSNumber { return n.doubleValue }
    if let d = any as? Double { return d }
    return nil
}

/// A literal string or a regular expression (Oniguruma syntax in the file; ICU here, which agrees on what
/// tokenizer files use: \p{L}, \s, classes, alternations, lookahead).
enum TextPattern {
    case string(String)
    case regex(NSRegularExpression)

    /// The text split into pieces that match and pieces between, in order, covering it all (UTF-16 ranges).
    func splits(_ text: String) -> [(range: NSRange, isMatch: Bool)] {
        let ns = text as NSString
        var out: [(NSRange, Bool)] = []
        var previous = 0
        func add(_ match: NSRange) {
            if match.location > previous { out.append((NSRange(location: previous, length: match.location - previous), false)) }
            out.append((match, true))
            previous = match.location + match.length
        }
        switch self {
        case let .string(s):
            guard !s.isEmpty else { break }
            var search = NSRange(location: 0, length: ns.length)
            while search.length > 0 {
                let found = ns.range(of: s, options: [.literal], range: search)
                if found.location == NSNotFound { break }
                add(found)
                search = NSRange(location: found.location + found.length, length: ns.length - found.location - found.length)
            }
        case let .regex(r):
            for m in r.matches(in: text, range: NSRange(location: 0, length: ns.length)) { add(m.range) }
        }
        if previous < ns.length { out.append((NSRange(location: previous, length: ns.length - previous), false)) }
        return out
    }

    func replacingAll(in text: String, with content: String) -> String {
        switch self {
        case let .string(s): return s.isEmpty ? text : (text as NSString).replacingOccurrences(of: s, with: content, options: .literal, range: NSRange(location: 0, length: (text as NSString).length))
        case let .regex(r):
            return r.stringByReplacingMatches(in: text, range: NSRange(location: 0, length: (text as NSString).length),
                                              withTemplate: NSRegularExpression.escapedTemplate(for: content))
        }
    }
}
