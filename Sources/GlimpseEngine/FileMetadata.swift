import GlimpseImage
import GlimpseStore

/// The metadata every image gets from its own bytes, filterable like a list's columns: `width`, `height`,
/// `format`, and from EXIF when present `taken_at` (ISO 8601, camera local time), `camera_make`,
/// `camera_model`, `gps_latitude`, `gps_longitude`.
enum FileMetadata {
    static func make(width: Int, height: Int, format: String, facts: PhotoFacts) -> ImageMetadata {
        var metadata: ImageMetadata = ["width": .number(Double(width)), "height": .number(Double(height)), "format": .string(format)]
        if let taken = facts.takenAt { metadata["taken_at"] = .string(taken) }
        if let make = facts.cameraMake { metadata["camera_make"] = .string(make) }
        if let model = facts.cameraModel { metadata["camera_model"] = .string(model) }
        if let latitude = facts.latitude, let longitude = facts.longitude {
            metadata["gps_latitude"] = .number(latitude)
            metadata["gps_longitude"] = .number(longitude)
        }
        return metadata
    }

    static let keys: Set<String> = ["width", "height", "format", "taken_at", "camera_make", "camera_model", "gps_latitude", "gps_longitude"]

    /// The facts part of stored metadata (what `make` added).
    static func facts(of stored: ImageMetadata) -> ImageMetadata { stored.filter { keys.contains($0.key) } }

    /// A list row's metadata with the file's facts added where the list has no column of the same name.
    static func merge(_ list: ImageMetadata, _ file: ImageMetadata) -> ImageMetadata {
        list.merging(file) { listValue, _ in listValue }
    }
}
