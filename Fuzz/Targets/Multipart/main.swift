// libFuzzer target: MultipartForm.boundary(contentType:) and MultipartForm(body:boundary:).
// The first line of the input is the Content-Type header, the rest the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = newline < bytes.count ? Array(bytes[(newline + 1)...]) : []
    guard let boundary = MultipartForm.boundary(contentType: contentType) else { return 0 }
    if let form = try? MultipartForm(body: body, boundary: boundary) {
        var total = 0
        for part in form.parts { total += part.body.count }
        precondition(total <= body.count, "parts hold more bytes than the body")
        _ = form.part(named: "image")
    }
    return 0
}
