import Foundation
import GlimpseStore

/// One image of a list: its identity, where its bytes are, and the metadata stored with it.
public struct ListRow: Sendable, Equatable {
    /// Line of the list the row starts on (1-based), for messages.
    public var line: Int
    /// The id column's value, else the URL.
    public var id: String
    public var url: String
    /// Values by column name, in column order: numbers as numbers, lists (Unsplash keywords) as lists.
    public var fields: [(String, MetadataValue)]

    public static func == (a: ListRow, b: ListRow) -> Bool {
        a.line == b.line && a.id == b.id && a.url == b.url && a.fields.elementsEqual(b.fields) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// A row that cannot become an image, and why.
public struct ListRowFailure: Error, Sendable, Equatable {
    public var line: Int
    public var id: String?
    public var url: String?
    public var error: String
}

/// How to read a list; nil fields are detected.
public struct ListOptions: Sendable {
    public var urlColumn: String?
    public var idColumn: String?
    public var captionColumn: String?
    /// Columns kept as metadata: nil for all (except the URL and id columns), [] for none.
    public var metadataColumns: [String]?
    public init(urlColumn: String? = nil, idColumn: String? = nil, captionColumn: String? = nil, metadataColumns: [String]? = nil) {
        self.urlColumn = urlColumn; self.idColumn = idColumn; self.captionColumn = captionColumn; self.metadataColumns = metadataColumns
    }
}

/// A list of images read from CSV, TSV or JSON Lines (gzip'd or not):
/// - the format from the content (a JSON object per line, else the delimiter — tab, comma, semicolon or bar — that
///   splits the first line most consistently), the header from whether the first row holds a URL;
/// - the URL column by name (url, image_url, photo_image_url, …) or as the first column holding URLs; the id
///   column by name (id, image_id, photo_id, key); the caption column by name (caption, description, text, …);
/// - Unsplash's `photos.tsv*` is recognised by its header: id `photo_id`, URL `photo_image_url`, caption
///   `photo_description`, plus `photographer` (first and last name), `year` (of `photo_submitted_at`) and
///   `keywords` (from `keywords.tsv*` beside it, when present);
/// - Conceptual Captions' header-less `caption<TAB>url` gives caption and URL, identity the URL.
public struct ImageList: Sendable {
    public var path: String
    /// "csv", "tsv", "jsonl", … and what was recognised ("unsplash", "conceptual-captions"), for the summary.
    public var description: String
    public var rows: [ListRow]
    public var failures: [ListRowFailure]

    public static let urlColumnNames = ["url", "image_url", "photo_image_url", "img_url", "imageurl", "image", "img", "src",
                                        "link", "uri", "s3_url", "s3_uri", "file", "path", "image_path"]
    public static let idColumnNames = ["id", "image_id", "photo_id", "imageid", "key", "uid", "sku"]
    public static let captionColumnNames = ["caption", "photo_description", "description", "text", "title", "alt", "alt_text", "label"]

    public static func read(path: String, options: ListOptions = ListOptions()) throws -> ImageList {
        let lower = path.lowercased()
        if lower.hasSuffix(".parquet") || lower.hasSuffix(".parquet.gz") {
            throw SourceError.unreadableList(path: path, reason: "Parquet is not read; export it as CSV, TSV or JSON Lines (e.g. with pandas or duckdb)")
        }
        let probe = try ListFileReader(path: path)
        var firstLine: [UInt8]?
        while let line = try probe.nextLine() {
            if !line.allSatisfy({ $0 == 32 || $0 == 9 }) { firstLine = line; break }
        }
        guard let firstLine else { throw SourceError.unreadableList(path: path, reason: "the list is empty") }
        let first = String(decoding: firstLine, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if first.hasPrefix("{") { return try readJSONLines(path: path, options: options) }
        if first.hasPrefix("PAR1") { throw SourceError.unreadableList(path: path, reason: "Parquet is not read; export it as CSV, TSV or JSON Lines") }
        return try readDelimited(path: path, firstLine: first, options: options)
    }

    // MARK: Delimited

    static func delimiter(for firstLine: String, path: String) -> UInt8 {
        let name = path.lowercased().replacingOccurrences(of: ".gz", with: "")
        if name.hasSuffix(".tsv") || name.contains(".tsv0") || name.hasSuffix(".tab") { return UInt8(ascii: "\t") }
        let counts = ["\t", ",", ";", "|"].map { d in (d, firstLine.filter { String($0) == d }.count) }
        let best = counts.max { $0.1 < $1.1 }!
        if name.hasSuffix(".csv") && counts[1].1 > 0 { return UInt8(ascii: ",") }
        return best.1 > 0 ? UInt8(ascii: Unicode.Scalar(best.0)!) : UInt8(ascii: ",")
    }

    static func looksLikeURL(_ text: String) -> Bool {
        let t = text.lowercased()
        return t.hasPrefix("http://") || t.hasPrefix("https://") || t.hasPrefix("s3://") || t.hasPrefix("file://")
    }

    static func readDelimited(path: String, firstLine: String, options: ListOptions) throws -> ImageList {
        let delimiter = delimiter(for: firstLine, path: path)
        let format = delimiter == UInt8(ascii: "\t") ? "tsv" : "csv"
        let reader = try ListFileReader(path: path)
        var lineNumber = 0
        var header: [String]?
        var pending: [(Int, [String])] = []
        // The first non-empty record: a header unless it holds a URL.
        while let record = try reader.nextRecord(delimiter: delimiter, line: &lineNumber) {
            if record.count == 1 && record[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if record.contains(where: looksLikeURL) { pending.append((lineNumber, record)) } else { header = record }
            break
        }
        let width = header?.count ?? pending.first?.1.count ?? 0
        var columns = header?.map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        var kind = format
        if header == nil {
            // Header-less: Conceptual Captions (caption, url), else column1, column2, …
            if width == 2, let row = pending.first?.1, looksLikeURL(row[1]), !looksLikeURL(row[0]) {
                columns = ["caption", "url"]
                kind += ", conceptual-captions"
            } else {
                columns = (1...max(width, 1)).map { "column\($0)" }
                if let row = pending.first?.1, let u = row.firstIndex(where: looksLikeURL) { columns[u] = "url" }
            }
        }
        let unsplash = columns.contains("photo_id") && columns.contains("photo_image_url")
        if unsplash { kind += ", unsplash" }
        // A dataset's own name for its caption column outranks the generic names.
        var options = options
        if unsplash {
            options.idColumn = options.idColumn ?? "photo_id"
            options.urlColumn = options.urlColumn ?? "photo_image_url"
            options.captionColumn = options.captionColumn ?? "photo_description"
        }
        let layout = try Layout(columns: columns, options: options, path: path, sample: pending.first?.1)
        var keywords: [String: [String]] = [:]
        if unsplash { keywords = try unsplashKeywords(beside: path) }

        var list = ImageList(path: path, description: kind, rows: [], failures: [])
        var seen: [String: Int] = [:]
        func add(_ line: Int, _ record: [String]) {
            if record.count == 1 && record[0].trimmingCharacters(in: .whitespaces).isEmpty { return }
            var values: [String: MetadataValue] = [:]
            for (i, name) in columns.enumerated() where i < record.count { values[name] = .string(record[i]) }
            if record.count != columns.count {
                list.failures.append(ListRowFailure(line: line, id: nil, url: nil,
                                                    error: "has \(record.count) fields, the \(header == nil ? "first row" : "header") has \(columns.count)"))
                return
            }
            var extra: [(String, MetadataValue)] = []
            if unsplash {
                func column(_ name: String) -> String { columns.firstIndex(of: name).map { record[$0] } ?? "" }
                let first = column("photographer_first_name"), last = column("photographer_last_name")
                let name = [first, last].filter { !$0.isEmpty }.joined(separator: " ")
                if !name.isEmpty { extra.append(("photographer", .string(name))) }
                let submitted = column("photo_submitted_at")
                if let year = Double(submitted.prefix(4)), submitted.count >= 4 { extra.append(("year", .number(year))) }
                if let id = values["photo_id"], case let .string(photo) = id, let words = keywords[photo] {
                    extra.append(("keywords", .list(words.map { .string($0) })))
                }
            }
            list.append(line: line, values: values, order: columns, extra: extra, layout: layout, inferNumbers: true, seen: &seen)
        }
        for (line, record) in pending { add(line, record) }
        while let record = try reader.nextRecord(delimiter: delimiter, line: &lineNumber) { add(lineNumber, record) }
        return list
    }

    /// Unsplash's keywords.tsv* beside photos.tsv*: photo_id → keywords, in file order, without duplicates.
    static func unsplashKeywords(beside path: String) throws -> [String: [String]] {
        let folder = (path as NSString).deletingLastPathComponent
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? [])
            .filter { $0.hasPrefix("keywords.tsv") || $0.hasPrefix("keywords.csv") }.sorted()
        var keywords: [String: [String]] = [:]
        for name in names {
            let reader = try ListFileReader(path: (folder as NSString).appendingPathComponent(name))
            var line = 0
            guard let header = try reader.nextRecord(delimiter: name.contains(".tsv") ? 9 : 44, line: &line),
                  let id = header.firstIndex(of: "photo_id"), let word = header.firstIndex(of: "keyword") else { continue }
            while let record = try reader.nextRecord(delimiter: name.contains(".tsv") ? 9 : 44, line: &line) {
                guard record.count > max(id, word), !record[word].isEmpty else { continue }
                if !(keywords[record[id]]?.contains(record[word]) ?? false) { keywords[record[id], default: []].append(record[word]) }
            }
        }
        return keywords
    }

    // MARK: JSON Lines

    static func readJSONLines(path: String, options: ListOptions) throws -> ImageList {
        let reader = try ListFileReader(path: path)
        var list = ImageList(path: path, description: "jsonl", rows: [], failures: [])
        var seen: [String: Int] = [:]
        var layout: Layout?
        var lineNumber = 0
        let decoder = JSONDecoder()
        while let bytes = try reader.nextLine() {
            lineNumber += 1
            if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            guard let object = try? decoder.decode([String: JSONField].self, from: Data(bytes)) else {
                list.failures.append(ListRowFailure(line: lineNumber, id: nil, url: nil, error: "not a JSON object"))
                continue
            }
            var values: [String: MetadataValue] = [:]
            var order: [String] = []
            for (key, field) in object.sorted(by: { $0.key < $1.key }) {
                field.flatten(into: &values, order: &order, prefix: key)
            }
            if layout == nil {
                let sample = order.map { name -> String in if case let .string(t)? = values[name] { return t } else { return "" } }
                layout = try Layout(columns: order, options: options, path: path, sample: sample)
            }
            list.append(line: lineNumber, values: values, order: order, extra: [], layout: layout!, inferNumbers: false, seen: &seen)
        }
        return list
    }

    // MARK: Rows

    /// Which columns are the URL, the id and the caption, and which are kept.
    struct Layout {
        var url: String
        var id: String?
        var caption: String?
        var keep: Set<String>?

        init(columns: [String], options: ListOptions, path: String, sample: [String]?) throws {
            let lowered = Dictionary(columns.map { ($0.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
            func named(_ candidates: [String]) -> String? { candidates.lazy.compactMap { lowered[$0] }.first }
            func require(_ name: String, _ flag: String) throws -> String {
                guard columns.contains(name) else {
                    throw SourceError.unreadableList(path: path, reason: "\(flag) '\(name)' is not a column (columns: \(columns.joined(separator: ", ")))")
                }
                return name
            }
            if let column = options.urlColumn { url = try require(column, "--url-column") }
            else if let column = named(ImageList.urlColumnNames) { url = column }
            else if let sample, let i = sample.firstIndex(where: ImageList.looksLikeURL), i < columns.count { url = columns[i] }
            else {
                throw SourceError.unreadableList(path: path, reason: "no URL column found (columns: \(columns.prefix(20).joined(separator: ", "))); name it with --url-column")
            }
            id = try options.idColumn.map { try require($0, "--id-column") } ?? named(ImageList.idColumnNames)
            caption = try options.captionColumn.map { try require($0, "--caption-column") } ?? named(ImageList.captionColumnNames)
            if let wanted = options.metadataColumns {
                for name in wanted { _ = try require(name, "--metadata-columns") }
                keep = Set(wanted)
            }
        }
    }

    mutating func append(line: Int, values: [String: MetadataValue], order: [String], extra: [(String, MetadataValue)], layout: Layout,
                         inferNumbers: Bool, seen: inout [String: Int]) {
        guard case let .string(rawURL)? = values[layout.url], !rawURL.trimmingCharacters(in: .whitespaces).isEmpty else {
            failures.append(ListRowFailure(line: line, id: nil, url: nil, error: "no URL in column '\(layout.url)'"))
            return
        }
        let url = Self.resolve(rawURL.trimmingCharacters(in: .whitespaces), relativeTo: path)
        var id = url
        if let idColumn = layout.id {
            switch values[idColumn] {
            case let .string(text)? where !text.isEmpty: id = text
            case let .number(n)?: id = n == n.rounded() && abs(n) < 9e15 ? String(Int64(n)) : String(n)
            default:
                failures.append(ListRowFailure(line: line, id: nil, url: url, error: "no id in column '\(idColumn)'"))
                return
            }
        }
        if let earlier = seen[id] {
            failures.append(ListRowFailure(line: line, id: id, url: url, error: "duplicate id (first on line \(earlier)); this row is skipped"))
            return
        }
        seen[id] = line
        var fields: [(String, MetadataValue)] = []
        for name in order where name != layout.url && name != layout.id {
            guard layout.keep.map({ $0.contains(name) || name == layout.caption }) ?? true, let value = values[name] else { continue }
            if name == layout.caption && layout.keep != nil && !layout.keep!.contains(name) {
                if case let .string(text) = value, !text.isEmpty { fields.append(("caption", value)) }
                continue
            }
            if case let .string(text) = value, text.isEmpty { continue }
            let typed = if case let .string(text) = value, inferNumbers { MetadataValue.inferred(from: text) } else { value }
            // The caption column is kept under its own name and, for every list alike, as "caption".
            if name == layout.caption && name != "caption" { fields.append(("caption", value)) }
            fields.append((name, typed))
        }
        fields += extra
        rows.append(ListRow(line: line, id: id, url: url, fields: fields))
    }

    /// A relative path in a list is relative to the list's folder; absolute paths become file URLs.
    static func resolve(_ url: String, relativeTo listPath: String) -> String {
        if url.contains("://") { return url }
        let folder = (listPath as NSString).deletingLastPathComponent
        let absolute = url.hasPrefix("/") ? url : ((folder.isEmpty ? FileManager.default.currentDirectoryPath : folder) as NSString).appendingPathComponent(url)
        return URL(fileURLWithPath: absolute).standardizedFileURL.absoluteString
    }
}

/// Any JSON value of a JSON Lines list.
enum JSONField: Decodable {
    case text(String), number(Double), bool(Bool), list([JSONField]), object([String: JSONField]), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else if let l = try? c.decode([JSONField].self) { self = .list(l) }
        else { self = .object(try c.decode([String: JSONField].self)) }
    }

    var scalar: MetadataValue? {
        switch self {
        case let .text(s): .string(s)
        case let .number(n): .number(n)
        case let .bool(b): .bool(b)
        default: nil
        }
    }

    /// Scalars and lists of scalars as they are; objects one level down as `key.sub`; nulls left out.
    func flatten(into values: inout [String: MetadataValue], order: inout [String], prefix: String, depth: Int = 0) {
        switch self {
        case .null: return
        case let .list(items): values[prefix] = .list(items.compactMap(\.scalar)); order.append(prefix)
        case let .object(fields):
            guard depth < 2 else { return }
            for (key, field) in fields.sorted(by: { $0.key < $1.key }) { field.flatten(into: &values, order: &order, prefix: prefix + "." + key, depth: depth + 1) }
        default:
            // A JSON string keeps its type: "2020" in quotes stays text.
            values[prefix] = scalar; order.append(prefix)
        }
    }
}
