/// A small Windows BMP decoder, because libvips 8.14 reads BMP only through
/// ImageMagick, which GlimpseImage deliberately does not expose to untrusted files.
///
/// It follows Pillow's `BmpImagePlugin` (the reference decoder): headers of 12, 40,
/// 52, 56, 64, 108 and 124 bytes; 1/4/8-bit palettes, RLE4/RLE8, 16-bit 5-5-5 and
/// 5-6-5, 24-bit, and 32-bit with the bitfield layouts Pillow accepts. Plain 32-bit
/// (BI_RGB) files ignore the fourth byte, as Pillow does.
enum BMPDecoder {
    struct Header {
        var width: Int
        var height: Int
        var topDown: Bool
        var bits: Int
        var compression: Int
        var colors: Int
        var paletteEntrySize: Int
        var paletteOffset: Int
        var dataOffset: Int
        var masks: (r: UInt32, g: UInt32, b: UInt32, a: UInt32)?
    }

    enum Failure: Error, Equatable {
        case notBMP
        case unsupported(String)
        case truncated
        /// The header's pixel data offset lies at or beyond the end of the file.
        case dataOffsetBeyondFile(offset: Int, fileSize: Int)
        /// Width × height (or a row's byte length) does not fit the address space.
        case dimensionsOverflow(width: Int, height: Int)
    }

    /// The whole BMP path of `ImageDecoder`: header, pixel limit, pixels, with every failure an `ImageError`
    /// that names `name`. Safe on any bytes: hostile headers give errors, never a trap or a read outside `b`.
    static func decode(_ b: UnsafeRawBufferPointer, name: String, maxPixels: Int) throws -> RGBImage {
        do {
            let header = try readHeader(b)
            let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
            if overflow || pixels > maxPixels {
                throw ImageError.tooManyPixels(path: name, width: header.width, height: header.height, limit: maxPixels)
            }
            return try decode(b, header: header)
        } catch let failure as Failure {
            switch failure {
            case .notBMP: throw ImageError.unsupportedFormat(path: name)
            case .truncated: throw ImageError.corrupt(path: name, detail: "BMP data ends early")
            case .unsupported(let what): throw ImageError.corrupt(path: name, detail: "unsupported \(what)")
            case let .dataOffsetBeyondFile(offset, fileSize):
                throw ImageError.corrupt(path: name, detail: "BMP pixel data offset \(offset) lies beyond the end of the \(fileSize)-byte file")
            case let .dimensionsOverflow(width, height):
                throw ImageError.corrupt(path: name, detail: "BMP size \(width)×\(height) is too large to address")
            }
        }
    }

    static func isBMP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == UInt8(ascii: "B") && bytes[1] == UInt8(ascii: "M")
    }

    /// Parses the headers only (for the pixel limit).
    static func readHeader(_ b: UnsafeRawBufferPointer) throws -> Header {
        guard isBMP(b) else { throw Failure.notBMP }
        guard b.count >= 18 else { throw Failure.truncated }
        var dataOffset = Int(u32(b, 10))
        let headerSize = Int(u32(b, 14))
        guard b.count >= 14 + headerSize else { throw Failure.truncated }
        var header: Header
        var position = 14 + headerSize
        switch headerSize {
        case 12:
            header = Header(width: Int(u16(b, 18)), height: Int(u16(b, 20)), topDown: false,
                            bits: Int(u16(b, 24)), compression: 0, colors: 0, paletteEntrySize: 3,
                            paletteOffset: 0, dataOffset: 0, masks: nil)
        case 40, 52, 56, 64, 108, 124:
            let rawHeight = u32(b, 22)
            let topDown = (rawHeight >> 24) == 0xFF
            header = Header(width: Int(u32(b, 18)),
                            height: topDown ? Int(UInt32(0) &- rawHeight) : Int(rawHeight),
                            topDown: topDown, bits: Int(u16(b, 28)), compression: Int(u32(b, 30)),
                            colors: Int(u32(b, 46)), paletteEntrySize: 4, paletteOffset: 0,
                            dataOffset: 0, masks: nil)
            if header.compression == 3 {
                if headerSize >= 52 {
                    let a: UInt32 = headerSize >= 56 ? u32(b, 66) : 0
                    header.masks = (u32(b, 54), u32(b, 58), u32(b, 62), a)
                } else {
                    guard b.count >= position + 12 else { throw Failure.truncated }
                    header.masks = (u32(b, position), u32(b, position + 4), u32(b, position + 8), 0)
                    position += 12
                }
            }
        default:
            throw Failure.unsupported("BMP header size \(headerSize)")
        }
        if header.colors == 0 { header.colors = 1 << min(header.bits, 24) }
        if dataOffset == 14 + headerSize && header.bits <= 8 {
            dataOffset += header.paletteEntrySize * header.colors
        }
        header.paletteOffset = position
        header.dataOffset = dataOffset
        guard [1, 4, 8, 16, 24, 32].contains(header.bits) else {
            throw Failure.unsupported("BMP with \(header.bits) bits per pixel")
        }
        guard header.width > 0, header.height > 0 else {
            throw Failure.unsupported("BMP of size \(header.width)×\(header.height)")
        }
        guard header.dataOffset < b.count else { throw Failure.dataOffsetBeyondFile(offset: header.dataOffset, fileSize: b.count) }
        return header
    }

    /// Decodes to RGB8 (alpha, where the bitfields declare one, composited over white).
    static func decode(_ b: UnsafeRawBufferPointer, header h: Header) throws -> RGBImage {
        let width = h.width, height = h.height
        // Sizes in 64-bit arithmetic with overflow checks: the caller's pixel limit may be anything.
        guard width > 0, height > 0, h.dataOffset >= 0, h.dataOffset < b.count else {
            throw Failure.dataOffsetBeyondFile(offset: h.dataOffset, fileSize: b.count)
        }
        let (pixels, o1) = width.multipliedReportingOverflow(by: height)
        let (outCount, o2) = pixels.multipliedReportingOverflow(by: 3)
        let (rowBits, o3) = width.multipliedReportingOverflow(by: h.bits)
        guard !o1, !o2, !o3, rowBits <= Int.max - 31 else { throw Failure.dimensionsOverflow(width: width, height: height) }
        // 1. Per-pixel layout: palette indices or direct colour.
        var palette = [UInt8](repeating: 0, count: 256 * 3)
        if h.bits <= 8 {
            guard h.colors > 0 && h.colors <= 65536 else { throw Failure.unsupported("BMP palette size") }
            let n = min(h.colors, 256)
            guard b.count >= h.paletteOffset + h.paletteEntrySize * h.colors else { throw Failure.truncated }
            for i in 0..<n {
                let p = h.paletteOffset + i * h.paletteEntrySize
                palette[i * 3] = b[p + 2]
                palette[i * 3 + 1] = b[p + 1]
                palette[i * 3 + 2] = b[p]
            }
        }
        var out = [UInt8](repeating: 0, count: outCount)
        switch h.compression {
        case 0, 3:
            let layout = try directLayout(h)
            let stride = ((rowBits + 31) >> 3) & ~3
            // Pillow decodes what is there and fails only if rows are missing.
            let (body, o4) = stride.multipliedReportingOverflow(by: height - 1)
            let (needed, o5) = body.addingReportingOverflow((rowBits + 7) / 8)
            guard !o4, !o5, needed <= b.count - h.dataOffset else { throw Failure.truncated }
            out.withUnsafeMutableBufferPointer { o in
                for row in 0..<height {
                    let srcRow = h.dataOffset + row * stride
                    let y = h.topDown ? row : height - 1 - row
                    let dst = o.baseAddress! + y * width * 3
                    decodeRow(b, at: srcRow, width: width, bits: h.bits, layout: layout,
                              palette: palette, into: dst)
                }
            }
        case 1, 2:
            guard h.bits == (h.compression == 1 ? 8 : 4) else { throw Failure.unsupported("BMP RLE depth") }
            let indices = decodeRLE(b, from: h.dataOffset, width: width, height: height, rle4: h.compression == 2)
            out.withUnsafeMutableBufferPointer { o in
                for row in 0..<height {
                    let y = h.topDown ? row : height - 1 - row
                    for x in 0..<width {
                        let index = Int(indices[row * width + x])
                        let d = (y * width + x) * 3
                        o[d] = palette[index * 3]; o[d + 1] = palette[index * 3 + 1]; o[d + 2] = palette[index * 3 + 2]
                    }
                }
            }
        default:
            throw Failure.unsupported("BMP compression \(h.compression)")
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// How to read direct-colour pixels.
    enum Layout {
        case palette
        case rgb555, rgb565
        case bgr24
        /// Byte positions of R, G, B and (optionally) A inside a 32-bit little-endian pixel.
        case bytes32(r: Int, g: Int, b: Int, a: Int?)
    }

    static func directLayout(_ h: Header) throws -> Layout {
        switch h.bits {
        case 1, 4, 8: return .palette
        case 16:
            guard let m = h.masks else { return .rgb555 }
            if (m.r, m.g, m.b) == (0xF800, 0x7E0, 0x1F) { return .rgb565 }
            if (m.r, m.g, m.b) == (0x7C00, 0x3E0, 0x1F) { return .rgb555 }
        case 24:
            guard let m = h.masks else { return .bgr24 }
            if (m.r, m.g, m.b) == (0xFF0000, 0xFF00, 0xFF) { return .bgr24 }
        case 32:
            guard let m = h.masks else { return .bytes32(r: 2, g: 1, b: 0, a: nil) }
            func byte(_ mask: UInt32) -> Int? {
                switch mask {
                case 0xFF: return 0
                case 0xFF00: return 1
                case 0xFF0000: return 2
                case 0xFF000000: return 3
                default: return nil
                }
            }
            // Pillow reads all-zero masks as BGRA.
            if m == (0, 0, 0, 0) { return .bytes32(r: 2, g: 1, b: 0, a: 3) }
            if let r = byte(m.r), let g = byte(m.g), let bb = byte(m.b), Set([r, g, bb]).count == 3 {
                if m.a == 0 { return .bytes32(r: r, g: g, b: bb, a: nil) }
                if let a = byte(m.a), Set([r, g, bb, a]).count == 4 { return .bytes32(r: r, g: g, b: bb, a: a) }
            }
        default:
            break
        }
        throw Failure.unsupported("BMP bitfields layout")
    }

    private static func decodeRow(_ b: UnsafeRawBufferPointer, at start: Int, width: Int, bits: Int,
                                  layout: Layout, palette: [UInt8], into dst: UnsafeMutablePointer<UInt8>) {
        let count = b.count
        @inline(__always) func byteAt(_ i: Int) -> UInt8 { i < count ? b[i] : 0 }
        switch layout {
        case .palette:
            let perByte = 8 / bits
            let mask = (1 << bits) - 1
            for x in 0..<width {
                let byte = Int(byteAt(start + x / perByte))
                let shift = 8 - bits * (x % perByte + 1)
                let index = (byte >> shift) & mask
                dst[x * 3] = palette[index * 3]; dst[x * 3 + 1] = palette[index * 3 + 1]; dst[x * 3 + 2] = palette[index * 3 + 2]
            }
        case .rgb555:
            for x in 0..<width {
                let p = Int(byteAt(start + x * 2)) | Int(byteAt(start + x * 2 + 1)) << 8
                dst[x * 3] = UInt8(((p >> 10) & 31) * 255 / 31)
                dst[x * 3 + 1] = UInt8(((p >> 5) & 31) * 255 / 31)
                dst[x * 3 + 2] = UInt8((p & 31) * 255 / 31)
            }
        case .rgb565:
            for x in 0..<width {
                let p = Int(byteAt(start + x * 2)) | Int(byteAt(start + x * 2 + 1)) << 8
                dst[x * 3] = UInt8(((p >> 11) & 31) * 255 / 31)
                dst[x * 3 + 1] = UInt8(((p >> 5) & 63) * 255 / 63)
                dst[x * 3 + 2] = UInt8((p & 31) * 255 / 31)
            }
        case .bgr24:
            for x in 0..<width {
                let s = start + x * 3
                dst[x * 3] = byteAt(s + 2); dst[x * 3 + 1] = byteAt(s + 1); dst[x * 3 + 2] = byteAt(s)
            }
        case .bytes32(let r, let g, let bl, let a):
            for x in 0..<width {
                let s = start + x * 4
                if let a {
                    let alpha = UInt32(byteAt(s + a))
                    dst[x * 3] = PixelConversion.compositeOverWhite(UInt32(byteAt(s + r)), alpha: alpha)
                    dst[x * 3 + 1] = PixelConversion.compositeOverWhite(UInt32(byteAt(s + g)), alpha: alpha)
                    dst[x * 3 + 2] = PixelConversion.compositeOverWhite(UInt32(byteAt(s + bl)), alpha: alpha)
                } else {
                    dst[x * 3] = byteAt(s + r); dst[x * 3 + 1] = byteAt(s + g); dst[x * 3 + 2] = byteAt(s + bl)
                }
            }
        }
    }

    /// Pillow's `BmpRleDecoder`: palette indices in file row order (bottom-up unless
    /// top-down), missing pixels left at index 0.
    private static func decodeRLE(_ b: UnsafeRawBufferPointer, from start: Int, width: Int, height: Int,
                                  rle4: Bool) -> [UInt8] {
        let total = width * height
        var data = [UInt8]()
        data.reserveCapacity(total)
        var x = 0
        var p = start
        while data.count < total {
            guard p + 1 < b.count else { break }
            var count = Int(b[p])
            let byte = b[p + 1]
            p += 2
            if count > 0 {
                if x + count > width { count = max(0, width - x) }
                for i in 0..<count {
                    data.append(rle4 ? (i % 2 == 0 ? byte >> 4 : byte & 0x0F) : byte)
                }
                x += count
            } else if byte == 0 {
                while data.count % width != 0 { data.append(0) }
                x = 0
            } else if byte == 1 {
                break
            } else if byte == 2 {
                guard p + 1 < b.count else { break }
                let right = Int(b[p]), up = Int(b[p + 1])
                p += 2
                data.append(contentsOf: repeatElement(0, count: min(total - data.count, right + up * width)))
                x = data.count % width
            } else {
                let dataCount = min(total - data.count, Int(byte))
                let byteCount = rle4 ? (dataCount + 1) / 2 : dataCount
                let available = min(byteCount, max(0, b.count - p))
                if rle4 {
                    for i in 0..<available {
                        data.append(b[p + i] >> 4)
                        if i * 2 + 1 < dataCount { data.append(b[p + i] & 0x0F) }
                    }
                } else {
                    for i in 0..<available { data.append(b[p + i]) }
                }
                p += available
                if available < byteCount || data.count == total { break }
                x += Int(byte)
                if p % 2 != 0 { p += 1 }
            }
        }
        if data.count < total { data.append(contentsOf: repeatElement(0, count: total - data.count)) }
        if data.count > total { data.removeLast(data.count - total) }
        return data
    }

    @inline(__always) private static func u16(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
        UInt16(b[o]) | UInt16(b[o + 1]) << 8
    }

    @inline(__always) private static func u32(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }
}
