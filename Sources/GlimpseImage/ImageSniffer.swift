/// Recognises an image format from its first bytes (never from a name the client sent).
public enum ImageSniffer {
    /// File extension for the bytes' format, or nil when they are not an image Glimpse reads.
    public static func fileExtension(_ bytes: [UInt8]) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<(offset + magic.count)]) == magic
        }
        if starts([0xFF, 0xD8, 0xFF]) { return "jpg" }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "png" }
        if starts(Array("GIF8".utf8)) { return "gif" }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "webp" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "tiff" }
        if starts(Array("BM".utf8)) && bytes.count > 26 { return "bmp" }
        if starts(Array("ftyp".utf8), at: 4), bytes.count >= 12 {
            let brand = String(decoding: bytes[8..<12], as: UTF8.self)
            if ["heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"].contains(brand) { return "heic" }
            if ["avif", "avis"].contains(brand) { return "avif" }
        }
        return nil
    }

    /// MIME type for a stored format name ("jpeg", "png", ...) or extension.
    public static func contentType(format: String) -> String {
        switch format.lowercased() {
        case "jpeg", "jpg", "jpe", "jfif": "image/jpeg"
        case "png": "image/png"
        case "gif": "image/gif"
        case "webp": "image/webp"
        case "tif", "tiff": "image/tiff"
        case "bmp": "image/bmp"
        case "heic", "heif": "image/heic"
        case "avif": "image/avif"
        default: "application/octet-stream"
        }
    }
}
