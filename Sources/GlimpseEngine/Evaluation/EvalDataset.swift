import Foundation

/// Why a dataset file could not be read.
public struct EvalDatasetError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public init(file: String, _ reason: String) { self.file = file; self.reason = reason }
    public var description: String { "\(file): \(reason)" }
}

/// An image–text retrieval dataset: images, and captions each describing one of them (an image usually has several).
public struct EvalDataset: Sendable, Equatable {
    /// Image file names, relative to the images folder.
    public var images: [String]
    public var captions: [String]
    /// For each caption, the index in `images` of the image it describes.
    public var captionImage: [Int]

    public init(images: [String], captions: [String], captionImage: [Int]) {
        self.images = images; self.captions = captions; self.captionImage = captionImage
    }

    /// The layouts `load` reads.
    public enum Format: String, CaseIterable, Sendable {
        /// clip_benchmark's `flickr30k_test_karpathy.txt`: a header line, then `image.jpg,caption` (the caption may
        /// contain commas).
        case karpathyText = "karpathy-txt"
        /// COCO captions layout (`coco_test_karpathy.json`): `images[].{id, file_name}`, `annotations[].{image_id, caption}`.
        case coco
        /// Karpathy's `dataset_flickr30k.json` / `dataset_coco.json`: `images[].{filename, filepath?, split, sentences[].raw}`.
        case karpathyJSON = "karpathy-json"
        /// CSV with a header; the image column is `image`/`filename`/`file`/`filepath`/`path`, the caption column
        /// `caption`/`text`/`sentence`/`title` (else the first two columns). RFC 4180 quoting.
        case csv
        /// The same, tab-separated, no quoting.
        case tsv
        /// One image name per line, with `captionsFile` holding the captions line by line (XTD-10, Flickr30k-CN):
        /// as many lines as images, or k per image in image order.
        case imageList = "image-list"
    }

    /// Reads `file`, guessing its format from the extension and content unless `format` is given. `split` selects
    /// the images of Karpathy-JSON files (e.g. "test"; nil = every image). `captionsFile` makes `file` an image list.
    public static func load(file: String, format: Format? = nil, split: String? = "test", captionsFile: String? = nil) throws -> EvalDataset {
        guard let data = FileManager.default.contents(atPath: file) else { throw EvalDatasetError(file: file, "cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw EvalDatasetError(file: file, "not UTF-8 text") }
        let chosen = try format ?? guess(file: file, text: text, captionsFile: captionsFile)
        let dataset: EvalDataset
        switch chosen {
        case .karpathyText: dataset = try karpathyText(text, file: file)
        case .coco, .karpathyJSON: dataset = try json(data, file: file, split: split)
        case .csv: dataset = try table(rows: try csvRows(text, file: file), file: file)
        case .tsv: dataset = try table(rows: text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }, file: file)
        case .imageList:
            guard let captionsFile else { throw EvalDatasetError(file: file, "an image list needs --captions-file") }
            dataset = try imageList(text, file: file, captionsFile: captionsFile)
        }
        guard !dataset.images.isEmpty, !dataset.captions.isEmpty else {
            throw EvalDatasetError(file: file, "no images with captions\(split.map { " in split \"\($0)\"" } ?? "")")
        }
        return dataset
    }

    static func guess(file: String, text: String, captionsFile: String?) throws -> Format {
        if captionsFile != nil { return .imageList }
        switch (file as NSString).pathExtension.lowercased() {
        case "json":
            return text.contains("\"annotations\"") ? .coco : .karpathyJSON
        case "tsv": return .tsv
        case "csv": return .csv
        case "txt":
            // clip_benchmark's Karpathy text file: comma-separated with a header; a txt without commas is a list.
            return .karpathyText
        default:
            throw EvalDatasetError(file: file, "unknown dataset format (use .txt, .json, .csv or .tsv, or --format)")
        }
    }

    /// Groups (image, caption) pairs: images in order of first appearance.
    static func grouping(_ pairs: [(String, String)]) -> EvalDataset {
        var images: [String] = [], index: [String: Int] = [:], captions: [String] = [], owner: [Int] = []
        for (image, caption) in pairs {
            let i = index[image] ?? { images.append(image); index[image] = images.count - 1; return images.count - 1 }()
            captions.append(caption); owner.append(i)
        }
        return EvalDataset(images: images, captions: captions, captionImage: owner)
    }

    static func karpathyText(_ text: String, file: String) throws -> EvalDataset {
        var pairs: [(String, String)] = []
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().dropFirst() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let comma = trimmed.firstIndex(of: ",") else {
                throw EvalDatasetError(file: file, "line \(n + 1): expected image,caption")
            }
            pairs.append((String(trimmed[..<comma]), String(trimmed[trimmed.index(after: comma)...])))
        }
        return grouping(pairs)
    }

    static func json(_ data: Data, file: String, split: String?) throws -> EvalDataset {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch { throw EvalDatasetError(file: file, "not valid JSON: \(error.localizedDescription)") }
        guard let root = object as? [String: Any], let images = root["images"] as? [[String: Any]] else {
            throw EvalDatasetError(file: file, "expected an object with an \"images\" list")
        }
        if let annotations = root["annotations"] as? [[String: Any]] {
            var names: [Int: String] = [:]
            for image in images {
                guard let id = (image["id"] as? NSNumber)?.intValue, let name = image["file_name"] as? String else {
                    throw EvalDatasetError(file: file, "an image lacks \"id\" or \"file_name\"")
                }
                names[id] = name
            }
            // As torchvision's CocoCaptions, which clip_benchmark uses: images by ascending id, each with its
            // annotations in file order.
            var captionsOf: [Int: [String]] = [:]
            for annotation in annotations {
                guard let id = (annotation["image_id"] as? NSNumber)?.intValue, let caption = annotation["caption"] as? String else {
                    throw EvalDatasetError(file: file, "an annotation lacks \"image_id\" or \"caption\"")
                }
                guard names[id] != nil else { throw EvalDatasetError(file: file, "annotation for unknown image_id \(id)") }
                captionsOf[id, default: []].append(caption.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return grouping(names.keys.sorted().flatMap { id in (captionsOf[id] ?? []).map { (names[id]!, $0) } })
        }
        var pairs: [(String, String)] = []
        for image in images {
            if let split, let imageSplit = image["split"] as? String, imageSplit != split { continue }
            guard let name = image["filename"] as? String, let sentences = image["sentences"] as? [[String: Any]] else {
                throw EvalDatasetError(file: file, "an image lacks \"filename\" or \"sentences\"")
            }
            let path = (image["filepath"] as? String).map { ($0 as NSString).appendingPathComponent(name) } ?? name
            for sentence in sentences {
                guard let raw = sentence["raw"] as? String else { throw EvalDatasetError(file: file, "a sentence of \(name) lacks \"raw\"") }
                pairs.append((path, raw.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
        return grouping(pairs)
    }

    static func table(rows: [[String]], file: String) throws -> EvalDataset {
        let rows = rows.filter { !($0.count == 1 && $0[0].trimmingCharacters(in: .whitespaces).isEmpty) && !$0.isEmpty }
        guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
            throw EvalDatasetError(file: file, "empty")
        }
        let imageColumn = header.firstIndex { ["image", "filename", "file", "filepath", "path", "image_path"].contains($0) } ?? 0
        let captionColumn = header.firstIndex { ["caption", "text", "sentence", "title", "description"].contains($0) } ?? (imageColumn == 0 ? 1 : 0)
        var pairs: [(String, String)] = []
        for (n, row) in rows.enumerated().dropFirst() {
            guard row.count > max(imageColumn, captionColumn) else {
                throw EvalDatasetError(file: file, "row \(n + 1): expected at least \(max(imageColumn, captionColumn) + 1) columns")
            }
            pairs.append((row[imageColumn].trimmingCharacters(in: .whitespaces), row[captionColumn].trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return grouping(pairs)
    }

    /// RFC 4180: fields separated by commas, quoted fields may hold commas, doubled quotes and line breaks.
    static func csvRows(_ text: String, file: String) throws -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false, afterQuote = false
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" { quoted = false; afterQuote = true } else { field.append(c) }
                continue
            }
            switch c {
            case "\"":
                if afterQuote { field.append("\""); quoted = true; afterQuote = false }   // "" inside a quoted field
                else if field.isEmpty { quoted = true }
                else { field.append(c) }
            case ",": row.append(field); field = ""; afterQuote = false
            case "\n", "\r\n", "\r": row.append(field); rows.append(row); row = []; field = ""; afterQuote = false
            default: field.append(c); afterQuote = false
            }
        }
        if quoted { throw EvalDatasetError(file: file, "a quoted field is not closed") }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    static func imageList(_ text: String, file: String, captionsFile: String) throws -> EvalDataset {
        let images = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let captionData = FileManager.default.contents(atPath: captionsFile), let captionText = String(data: captionData, encoding: .utf8) else {
            throw EvalDatasetError(file: captionsFile, "cannot read the captions file as UTF-8 text")
        }
        let captions = captionText.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !images.isEmpty, captions.count % images.count == 0 else {
            throw EvalDatasetError(file: captionsFile, "\(captions.count) captions for \(images.count) images: expected one per image, or the same number for each")
        }
        let perImage = captions.count / images.count
        return EvalDataset(images: images, captions: captions, captionImage: captions.indices.map { $0 / perImage })
    }
}
