import CZlib
import Foundation

/// Reads a list file line by line, gzip'd or not (zlib reads plain files through unchanged), without holding the
/// whole file in memory.
final class ListFileReader {
    let path: String
    private let file: gzFile
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    init(path: String) throws {
        self.path = path
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw SourceError.unreadableList(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        guard let file = gzopen(path, "rb") else { throw SourceError.unreadableList(path: path, reason: "cannot open") }
        gzbuffer(file, 1 << 18)
        self.file = file
    }

    deinit { gzclose(file) }

    private func fill() throws -> Bool {
        guard !eof else { return false }
        if start > 0 { buffer.removeFirst(start); start = 0 }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.reserveCapacity(old + chunk)
        var read: Int32 = 0
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        buffer.withUnsafeMutableBytes { raw in read = gzread(file, raw.baseAddress! + old, UInt32(chunk)) }
        guard read >= 0 else {
            var code: Int32 = 0
            let message = String(cString: gzerror(file, &code))
            throw SourceError.unreadableList(path: path, reason: "corrupt gzip data (\(message))")
        }
        buffer.removeLast(chunk - Int(read))
        if read == 0 { eof = true }
        return read > 0
    }

    private var atStart = true

    /// The next physical line without its line break (CRLF or LF), nil at the end. A UTF-8 byte order mark at the
    /// start of the file (Excel writes one) is dropped.
    func nextLine() throws -> [UInt8]? {
        guard var line = try nextRawLine() else { return nil }
        if atStart {
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        return line
    }

    private func nextRawLine() throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                return line
            }
            if try !fill() {
                guard start < buffer.count else { return nil }
                var line = Array(buffer[start...])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                start = buffer.count
                return line
            }
        }
    }

    /// Physical lines read so far.
    private var linesRead = 0

    /// The next record of a delimited file: fields split at `delimiter`, a field that starts with a quote runs to
    /// its closing quote (across line breaks; "" is a quote inside). `lineNumber` is set to the line it starts on.
    func nextRecord(delimiter: UInt8, line lineNumber: inout Int) throws -> [String]? {
        guard var line = try nextLine() else { return nil }
        linesRead += 1
        lineNumber = linesRead
        var fields: [String] = []
        var field: [UInt8] = []
        var i = 0
        var inQuotes = false
        var atFieldStart = true
        while true {
            if i >= line.count {
                if inQuotes, let more = try nextLine() {
                    linesRead += 1
                    field.append(UInt8(ascii: "\n"))
                    line = more
                    i = 0
                    continue
                }
                fields.append(String(decoding: field, as: UTF8.self))
                return fields
            }
            let c = line[i]
            if inQuotes {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < line.count && line[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                    inQuotes = false
                } else {
                    field.append(c)
                }
            } else if c == delimiter {
                fields.append(String(decoding: field, as: UTF8.self))
                field = []
                atFieldStart = true
                i += 1
                continue
            } else if c == UInt8(ascii: "\"") && atFieldStart {
                inQuotes = true
            } else {
                field.append(c)
            }
            atFieldStart = false
            i += 1
        }
    }
}
