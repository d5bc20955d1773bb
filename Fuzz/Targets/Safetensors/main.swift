// libFuzzer target: the safetensors header parser (SafetensorsFile.parseHeader), then every tensor it accepts
// is converted, so that a validated byte range that still lies outside the input shows up under ASan.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let header = try? SafetensorsFile.parseHeader(bytes, path: "fuzz.safetensors") else { return 0 }
    var total = 0
    for entry in header.entries.values {
        guard let count = SafetensorsFile.elementCount(entry.shape) else { fatalError("accepted an overflowing shape") }
        precondition(header.dataOffset + entry.byteRange.upperBound <= size, "byte range outside the input")
        precondition(entry.byteRange.count == count * entry.dtype.byteSize, "byte range does not match the shape")
        total += count
        guard total < 1 << 22 else { break }  // bounded work per input
        let out = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        SafetensorsFile.convert(bytes.baseAddress! + header.dataOffset + entry.byteRange.lowerBound,
                                dtype: entry.dtype, count: count, into: out)
        out.deallocate()
    }
    return 0
}
