import CVipsShim
import Foundation

/// What a photo's EXIF says about it: when it was taken, with which camera, where. Read from the file's header
/// only (no pixels decoded); fields the file lacks are nil.
public struct PhotoFacts: Sendable, Equatable {
    /// "2021-05-31T20:44:00" (EXIF DateTimeOriginal, else DateTime; local time of the camera, as EXIF keeps it).
    public var takenAt: String?
    public var cameraMake: String?
    public var cameraModel: String?
    public var latitude: Double?
    public var longitude: Double?

    public init(takenAt: String? = nil, cameraMake: String? = nil, cameraModel: String? = nil, latitude: Double? = nil, longitude: Double? = nil) {
        self.takenAt = takenAt; self.cameraMake = cameraMake; self.cameraModel = cameraModel
        self.latitude = latitude; self.longitude = longitude
    }

    /// The facts of the image file at `path` (all nil when it has no EXIF or cannot be opened).
    public static func read(path: String) -> PhotoFacts {
        guard (try? VipsRuntime.ensureStarted(name: path)) != nil else { return PhotoFacts() }
        var image: UnsafeMutablePointer<VipsImage>?
        guard glimpse_vips_open_header(path, &image) == 0, let image else {
            if let message = glimpse_vips_take_error() { glimpse_vips_free(message) }
            return PhotoFacts()
        }
        defer { glimpse_vips_release(image) }
        func field(_ name: String) -> String? {
            guard let text = glimpse_vips_field_string(image, name) else { return nil }
            defer { glimpse_vips_free(text) }
            return exifValue(String(cString: text))
        }
        var facts = PhotoFacts()
        facts.takenAt = (field("exif-ifd2-DateTimeOriginal") ?? field("exif-ifd0-DateTime")).flatMap(isoDate)
        facts.cameraMake = field("exif-ifd0-Make")
        facts.cameraModel = field("exif-ifd0-Model")
        if let lat = field("exif-ifd3-GPSLatitude").flatMap(degrees), let lon = field("exif-ifd3-GPSLongitude").flatMap(degrees) {
            facts.latitude = field("exif-ifd3-GPSLatitudeRef")?.hasPrefix("S") == true ? -lat : lat
            facts.longitude = field("exif-ifd3-GPSLongitudeRef")?.hasPrefix("W") == true ? -lon : lon
        }
        return facts
    }

    /// libvips shows an EXIF value as "Canon (Canon, ASCII, 6 components, 6 bytes)": the value is before " (".
    static func exifValue(_ text: String) -> String? {
        let value = (text.range(of: " (").map { String(text[..<$0.lowerBound]) } ?? text).trimmingCharacters(in: .whitespaces)
        return value.isEmpty ? nil : value
    }

    /// "2021:05:31 20:44:00" → "2021-05-31T20:44:00"; nil for the all-zero "unknown" date.
    static func isoDate(_ text: String) -> String? {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == " " }).map(String.init)
        guard parts.count >= 6, let year = Int(parts[0]), year > 0 else { return nil }
        return "\(parts[0])-\(parts[1])-\(parts[2])T\(parts[3]):\(parts[4]):\(parts[5].prefix(2))"
    }

    /// "51/1 30/1 2629/100" (degrees, minutes, seconds as rationals) → 51.5073…
    static func degrees(_ text: String) -> Double? {
        let values = text.split(separator: " ").compactMap { part -> Double? in
            let pieces = part.split(separator: "/")
            guard let n = Double(pieces[0]) else { return nil }
            if pieces.count == 2 { guard let d = Double(pieces[1]), d != 0 else { return nil }; return n / d }
            return n
        }
        guard values.count == 3 else { return nil }
        let result = values[0] + values[1] / 60 + values[2] / 3600
        return result.isFinite && abs(result) <= 180 ? (result * 1e6).rounded() / 1e6 : nil
    }
}
