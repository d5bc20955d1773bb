import Foundation

/// A SentencePiece model file (`spiece.model`, `sentencepiece.bpe.model`): the `ModelProto` protobuf read directly,
/// only the fields encoding needs. Field numbers are sentencepiece_model.proto's.
struct SentencePieceModelFile {
    enum PieceType: Int { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }
    enum Algorithm: Int { case unigram = 1, bpe = 2, word = 3, char = 4 }

    struct Piece { var text: String; var score: Float; var type: PieceType }

    var pieces: [Piece] = []
    var algorithm: Algorithm = .unigram
    var byteFallback = false
    var unkId = 0
    var eosId = 2
    var padId = -1
    /// NormalizerSpec
    var normalizerName = ""
    var precompiledCharsmap = Data()
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true
    var treatWhitespaceAsSuffix = false

    init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadable(path: path, reason: "cannot read the file")
        }
        try self.init(data: data, source: path)
    }

    init(data: Data, source: String) throws {
        let bytes = [UInt8](data)
        func fail(_ reason: String) -> TokenizerError { .unreadable(path: source, reason: "not a SentencePiece model: \(reason)") }
        try Self.fields(bytes[...], fail) { field, value in
            switch (field, value) {
            case let (1, .bytes(piece)):
                var p = Piece(text: "", score: 0, type: .normal)
                try Self.fields(piece, fail) { f, v in
                    switch (f, v) {
                    case let (1, .bytes(b)): p.text = String(decoding: b, as: UTF8.self)
                    case let (2, .fixed32(bits)): p.score = Float(bitPattern: bits)
                    case let (3, .varint(t)): p.type = PieceType(rawValue: Int(t)) ?? .normal
                    default: break
                    }
                }
                pieces.append(p)
            case let (2, .bytes(spec)):     // TrainerSpec
                try Self.fields(spec, fail) { f, v in
                    guard case let .varint(n) = v else { return }
                    let signed = Int(Int32(truncatingIfNeeded: n))
                    switch f {
                    case 3: algorithm = Algorithm(rawValue: signed) ?? .unigram
                    case 24: treatWhitespaceAsSuffix = n != 0
                    case 35: byteFallback = n != 0
                    case 40: unkId = signed
                    case 42: eosId = signed
                    case 43: padId = signed
                    default: break
                    }
                }
            case let (3, .bytes(spec)):     // NormalizerSpec
                try Self.fields(spec, fail) { f, v in
                    switch (f, v) {
                    case let (1, .bytes(b)): normalizerName = String(decoding: b, as: UTF8.self)
                    case let (2, .bytes(b)): precompiledCharsmap = Data(b)
                    case let (3, .varint(n)): addDummyPrefix = n != 0
                    case let (4, .varint(n)): removeExtraWhitespaces = n != 0
                    case let (5, .varint(n)): escapeWhitespaces = n != 0
                    default: break
                    }
                }
            default: break
            }
        }
        guard !pieces.isEmpty else { throw fail("no pieces") }
        guard pieces.indices.contains(unkId) else { throw fail("unk_id \(unkId) is outside the \(pieces.count) pieces") }
    }

    enum Value { case varint(UInt64), fixed64(UInt64), bytes(ArraySlice<UInt8>), fixed32(UInt32) }

    /// Walks the fields of one protobuf message.
    static func fields(_ m: ArraySlice<UInt8>, _ fail: (String) -> TokenizerError, _ visit: (Int, Value) throws -> Void) throws {
        var i = m.startIndex
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < m.endIndex, shift < 64 else { throw fail("truncated varint") }
                let b = m[i]; i += 1
                result |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return result }
                shift += 7
            }
        }
        while i < m.endIndex {
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: try visit(field, .varint(try varint()))
            case 1:
                guard m.endIndex - i >= 8 else { throw fail("truncated fixed64") }
                var v: UInt64 = 0
                for k in 0..<8 { v |= UInt64(m[i + k]) << (8 * UInt64(k)) }
                i += 8; try visit(field, .fixed64(v))
            case 2:
                let n = try varint()
                guard n <= UInt64(m.endIndex - i) else { throw fail("field \(field) runs past the end") }
                let body = m[i..<(i + Int(n))]
                i += Int(n); try visit(field, .bytes(body))
            case 5:
                guard m.endIndex - i >= 4 else { throw fail("truncated fixed32") }
                var v: UInt32 = 0
                for k in 0..<4 { v |= UInt32(m[i + k]) << (8 * UInt32(k)) }
                i += 4; try visit(field, .fixed32(v))
            default: throw fail("wire type \(key & 7) of field \(field)")
            }
        }
    }
}
