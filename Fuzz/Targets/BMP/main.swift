// libFuzzer target: the BMP decoder, through the same entry point ImageDecoder uses for BMP files.
// The pixel limit is far lower than the library default so that each input stays fast (a few header bytes
// can announce an RLE image of millions of pixels); every code path is reachable at this size.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBMP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard BMPDecoder.isBMP(bytes) else { return 0 }
    if let image = try? BMPDecoder.decode(bytes, name: "fuzz.bmp", maxPixels: 1 << 16) {
        precondition(image.pixels.count == image.width * image.height * 3, "pixel buffer does not match the size")
    }
    return 0
}
