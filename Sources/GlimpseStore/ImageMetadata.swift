import Foundation

/// One metadata value of an image (and of a list row, before it is stored): what a list's column, a JSON Lines field or a photo's EXIF tag holds.
/// Lists (Unsplash keywords, tags) hold scalars.
public enum MetadataValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case list([MetadataValue])

    /// The value a text field of a CSV/TSV list stands for: a canonical number ("2020", "-3.5", "1e3") becomes a
    /// number, so that ranges compare numerically; anything else, including numbers with leading zeros ("007",
    /// a postcode) or signs that would not survive a round trip ("+1"), stays text.
    public static func inferred(from text: String) -> MetadataValue {
        if let number = canonicalNumber(text) { return .number(number) }
        return .string(text)
    }

    static func canonicalNumber(_ text: String) -> Double? {
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || (first >= 48 && first <= 57), text.utf8.count <= 24 else { return nil }
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        if digits.count > 1 && digits.hasPrefix("0") && !digits.hasPrefix("0.") { return nil }
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let string = try? container.decode(String.self) { self = .string(string) }
        else if let list = try? container.decode([MetadataValue].self) { self = .list(list) }
        else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a metadata value (string, number, boolean or list)") }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .string(s): try container.encode(s)
        case let .number(n):
            // Whole numbers as integers ("2020", not "2020.0").
            if n == n.rounded(), abs(n) < 9.0e15 { try container.encode(Int64(n)) } else { try container.encode(n) }
        case let .bool(b): try container.encode(b)
        case let .list(l): try container.encode(l)
        }
    }

    public var description: String {
        switch self {
        case let .string(s): s
        case let .number(n): n == n.rounded() && abs(n) < 9.0e15 ? String(Int64(n)) : String(n)
        case let .bool(b): String(b)
        case let .list(l): l.map(\.description).joined(separator: ", ")
        }
    }
}

/// An image's metadata: named values, stored as one JSON object with sorted keys.
public typealias ImageMetadata = [String: MetadataValue]

public enum MetadataJSON {
    /// The canonical JSON text of `metadata` (sorted keys, so equal metadata gives equal text).
    public static func encode(_ metadata: ImageMetadata) -> String {
        guard !metadata.isEmpty else { return "{}" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(metadata)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// The metadata in a stored JSON object; a malformed text gives no metadata rather than an error.
    public static func decode(_ text: String) -> ImageMetadata {
        guard text != "{}", let data = text.data(using: .utf8) else { return [:] }
        return (try? JSONDecoder().decode(ImageMetadata.self, from: data)) ?? [:]
    }
}
