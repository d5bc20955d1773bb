// libFuzzer target: Tokenizer.encode/decode on arbitrary UTF-8 (invalid sequences repaired, as String(decoding:)
// does for request bodies), with a committed tokenizer ($GLIMPSE_FUZZ_TOKENIZER, default the tiny CLIP model's).
// Checks the early-stopping encode against the untruncated one, the length, and that decode never traps.
import Foundation

nonisolated(unsafe) private var tokenizer: Tokenizer?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzTokenizerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    let directory = ProcessInfo.processInfo.environment["GLIMPSE_FUZZ_TOKENIZER"] ?? "Tests/Fixtures/models/clip-tiny-f32"
    do { tokenizer = try Tokenizer(directory: directory) } catch { fatalError("cannot load the tokenizer: \(error)") }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let tokenizer else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let limit = 16
    let ids = tokenizer.encode(text, maxLength: limit)
    precondition(ids.count <= limit, "length \(ids.count)")
    let whole = tokenizer.encode(text)
    if whole.count <= limit { precondition(ids == whole, "truncated encode \(ids) differs from the whole one \(whole)") }
    // With at most one special token after the sequence (CLIP, BERT, RoBERTa, Gemma templates), everything before the
    // last id is the untruncated encoding's beginning.
    else { precondition(Array(ids.prefix(limit - 1)) == Array(whole.prefix(limit - 1)), "early stop changed the kept ids") }
    _ = tokenizer.decode(whole)
    _ = tokenizer.decode(whole, skipSpecialTokens: false)
    return 0
}
