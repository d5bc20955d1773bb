/// The EXIF orientation of stored pixels (TIFF tag 274), i.e. how a viewer must
/// transform them before display. Values follow the EXIF numbering.
///
/// The transforms are the ones Pillow's `ImageOps.exif_transpose` applies, so decoded
/// images match what the reference pipeline sees.
public enum ImageOrientation: Int, Sendable, CaseIterable {
    case up = 1                 // as stored
    case upMirrored = 2         // flip left-right
    case down = 3               // rotate 180°
    case downMirrored = 4       // flip top-bottom
    case leftMirrored = 5       // transpose
    case right = 6              // rotate 90° clockwise
    case rightMirrored = 7      // transverse
    case left = 8               // rotate 90° counter-clockwise

    /// Whether displaying swaps width and height.
    public var swapsDimensions: Bool { rawValue >= 5 }

    /// Where source pixel (x, y) of a `width`×`height` image lands in the displayed
    /// image, as a linear pixel index `base + x * stepX + y * stepY`. Linear steps let
    /// the conversion loops place pixels without per-pixel branching.
    func placement(width w: Int, height h: Int) -> (base: Int, stepX: Int, stepY: Int) {
        switch self {
        case .up: return (0, 1, w)
        case .upMirrored: return (w - 1, -1, w)
        case .down: return ((h - 1) * w + w - 1, -1, -w)
        case .downMirrored: return ((h - 1) * w, 1, -w)
        case .leftMirrored: return (0, h, 1)
        case .right: return (h - 1, h, -1)
        case .rightMirrored: return ((w - 1) * h + h - 1, -h, -1)
        case .left: return ((w - 1) * h, -h, 1)
        }
    }

    /// Pillow's fallback when the EXIF block has no orientation: the first
    /// `tiff:Orientation="N"` / `tiff:Orientation>N` in the XMP packet.
    static func fromXMP(_ xmp: UnsafeRawBufferPointer) -> ImageOrientation? {
        let needle = Array("tiff:Orientation".utf8)
        let bytes = xmp.bindMemory(to: UInt8.self)
        var i = 0
        while i + needle.count < bytes.count {
            var matches = true
            for j in 0..<needle.count where bytes[i + j] != needle[j] {
                matches = false
                break
            }
            if matches {
                let after = i + needle.count
                var digitAt = -1
                if after + 1 < bytes.count, bytes[after] == UInt8(ascii: "="), bytes[after + 1] == UInt8(ascii: "\"") {
                    digitAt = after + 2
                } else if after < bytes.count, bytes[after] == UInt8(ascii: ">") {
                    digitAt = after + 1
                }
                if digitAt >= 0, digitAt < bytes.count,
                   bytes[digitAt] >= UInt8(ascii: "0"), bytes[digitAt] <= UInt8(ascii: "9") {
                    // Like Pillow: a digit outside 1...8 means "no transform".
                    return ImageOrientation(rawValue: Int(bytes[digitAt] - UInt8(ascii: "0"))) ?? .up
                }
            }
            i += 1
        }
        return nil
    }
}
