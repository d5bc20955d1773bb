// libFuzzer target: CLIPTokenizer.encode on arbitrary UTF-8 (invalid sequences repaired, as String(decoding:)
// does for request bodies), with the committed tiny model's tokenizer. Checks the early-stopping encode
// against the whole-text definition, and the length and end tokens.
import Foundation

nonisolated(unsafe) private var tokenizer: CLIPTokenizer?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzTokenizerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    let directory = ProcessInfo.processInfo.environment["GLIMPSE_FUZZ_TOKENIZER"] ?? "Tests/Fixtures/models/clip-tiny-f32"
    do { tokenizer = try CLIPTokenizer(directory: directory) } catch { fatalError("cannot load the tokenizer: \(error)") }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let tokenizer else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let ids = tokenizer.encode(text)
    precondition(ids.count >= 2 && ids.count <= tokenizer.maxLength, "length \(ids.count)")
    precondition(ids.first == tokenizer.bosTokenId && ids.last == tokenizer.eosTokenId, "start or end token missing")
    let whole = tokenizer.encodeWhole(text)
    precondition(ids == whole, "early-stopping encode \(ids) differs from the whole-text encode \(whole)")
    return 0
}
