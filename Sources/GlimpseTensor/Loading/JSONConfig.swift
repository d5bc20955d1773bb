import Foundation

/// A JSON object read from a Hugging Face configuration file, with typed look-ups that fall back to the
/// library's defaults for missing keys (transformers writes only the keys that differ from its defaults).
public struct JSONConfig: @unchecked Sendable {
    public let path: String
    public let values: [String: Any]

    public init(path: String, values: [String: Any]) {
        self.path = path
        self.values = values
    }

    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ConfigError.missingFile(path: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ConfigError.notJSON(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    /// Parses the bytes of a configuration file; `path` names it in errors. `init(contentsOf:)` reads the file
    /// and calls this.
    public init(data: Data, path: String) throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ConfigError.notJSON(path: path, reason: "parse error")
        }
        guard let dict = object as? [String: Any] else { throw ConfigError.notJSON(path: path, reason: "top level is not an object") }
        self.init(path: path, values: dict)
    }

    /// A JSON number (not true/false, which Foundation also hands out as NSNumber).
    private func number(_ key: String) -> NSNumber? {
        guard let n = values[key] as? NSNumber, !isBoolean(n) else { return nil }
        return n
    }

    private func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    public func has(_ key: String) -> Bool { values[key].map { type(of: $0) != NSNull.self } ?? false }

    public func int(_ key: String, default value: Int) throws -> Int {
        guard has(key) else { return value }
        guard let n = number(key), n.doubleValue.isFinite, n.doubleValue == n.doubleValue.rounded() else {
            throw ConfigError.wrongType(path: path, key: key, expected: "an integer")
        }
        // NSNumber.intValue of a Double outside Int's range is not defined; refuse such values.
        let d = n.doubleValue
        guard d > -9.2e18, d < 9.2e18 else {
            throw ConfigError.invalidValue(path: path, key: key, reason: "\(n) is out of range")
        }
        switch String(cString: n.objCType) {
        case "d", "f": return Int(d)
        default: return n.intValue
        }
    }

    public func double(_ key: String, default value: Double) throws -> Double {
        guard has(key) else { return value }
        if let n = number(key) { return n.doubleValue }
        throw ConfigError.wrongType(path: path, key: key, expected: "a number")
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        guard has(key) else { return value }
        if let n = values[key] as? NSNumber, isBoolean(n) { return n.boolValue }
        throw ConfigError.wrongType(path: path, key: key, expected: "true or false")
    }

    public func string(_ key: String, default value: String) throws -> String {
        guard has(key) else { return value }
        if let s = values[key] as? String { return s }
        throw ConfigError.wrongType(path: path, key: key, expected: "a string")
    }

    public func optionalString(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        return try string(key, default: "")
    }

    public func doubles(_ key: String, default value: [Double]) throws -> [Double] {
        guard has(key) else { return value }
        if let a = values[key] as? [NSNumber] { return a.map(\.doubleValue) }
        if let n = values[key] as? NSNumber { return [n.doubleValue] }
        throw ConfigError.wrongType(path: path, key: key, expected: "a list of numbers")
    }

    /// A nested object such as `text_config`; missing means all defaults.
    public func object(_ key: String) throws -> JSONConfig {
        guard has(key) else { return JSONConfig(path: path, values: [:]) }
        guard let dict = values[key] as? [String: Any] else { throw ConfigError.wrongType(path: path, key: key, expected: "an object") }
        return JSONConfig(path: "\(path) [\(key)]", values: dict)
    }
}
