import Foundation

/// The tensors of a PyTorch checkpoint (`pytorch_model.bin` as `torch.save` writes it since PyTorch 1.6: a ZIP archive
/// holding `data.pkl`, a pickled state dict, and one raw storage per `data/KEY` entry), read without Python.
///
/// The pickle is *read*, never run: a small pickle machine that knows the opcodes state dicts use and builds only
/// what `torch.save` writes for them — dictionaries, tuples, numbers, strings, `collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` and typed storages. Any other global (anything that could
/// run code when Python unpickles it) is refused with an error naming it. Every offset and length is checked
/// against the file, so a hostile file is an error, never a crash.
public final class PyTorchCheckpointFile: @unchecked Sendable {
    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        /// Element strides, as the tensor's view of its storage.
        public let strides: [Int]
        /// Byte offset of the storage in the file, and its size.
        public let storage: Range<Int>
        /// Offset of the first element in the storage, in elements.
        public let storageOffset: Int
    }

    public let path: String
    public let entries: [String: Entry]
    /// Tensors of element types Glimpse does not read, with the type (so a missing tensor can say why).
    public let skipped: [String: String]
    private let file: MappedFile
    private var base: UnsafeRawPointer { file.bytes.baseAddress! }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path, minimumSize: 22)
        (entries, skipped) = try Self.read(file.bytes, path: path)
    }

    /// Reads a tensor as Float32 (contiguous), checking its shape when one is expected.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        guard let entry = entries[name] else {
            if let dtype = skipped[name] { throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtype) }
            throw SafetensorsError.missingTensor(path: path, tensor: name)
        }
        try SafetensorsFile.check(shape: entry.shape, expected: expected, path: path, tensor: name)
        let count = SafetensorsFile.elementCount(entry.shape)!   // checked by read
        let out = FloatBuffer(count: count, zeroed: false)
        let storage = base + entry.storage.lowerBound
        let contiguous = Self.contiguousStrides(entry.shape)
        if entry.strides == contiguous || count <= 1 {
            SafetensorsFile.convert(storage + entry.storageOffset * entry.dtype.byteSize, dtype: entry.dtype, count: count, into: out.pointer)
        } else {
            // A view (a transpose, a slice of a shared storage): gather element by element.
            var index = [Int](repeating: 0, count: entry.shape.count)
            for i in 0..<count {
                var offset = entry.storageOffset
                for d in index.indices { offset += index[d] * entry.strides[d] }
                SafetensorsFile.convert(storage + offset * entry.dtype.byteSize, dtype: entry.dtype, count: 1, into: out.pointer + i)
                var d = index.count - 1
                while d >= 0 { index[d] += 1; if index[d] < entry.shape[d] { break }; index[d] = 0; d -= 1 }
            }
        }
        return Tensor(shape: expected ?? entry.shape, buffer: out)
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for d in shape.indices.reversed() { strides[d] = step; step *= max(shape[d], 1) }
        return strides
    }

    // MARK: ZIP

    struct ZipEntry { let name: String; let data: Range<Int> }

    static func fail(_ path: String, _ reason: String) -> SafetensorsError { .badHeader(path: path, reason: reason) }

    /// The stored (uncompressed) entries of a ZIP archive, ZIP64 included.
    static func zipEntries(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [ZipEntry] {
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw fail(path, "truncated ZIP structure") }
            return Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian)
        }
        func u32(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= bytes.count else { throw fail(path, "truncated ZIP structure") }
            return Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
        }
        func u64(_ at: Int) throws -> Int {
            guard at >= 0, at + 8 <= bytes.count else { throw fail(path, "truncated ZIP structure") }
            let v = bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian
            guard v <= UInt64(Int.max) else { throw fail(path, "ZIP offset out of range") }
            return Int(v)
        }
        // End of central directory: the last 22 bytes, or before a comment of up to 64 KiB.
        var eocd = -1
        var at = bytes.count - 22
        while at >= max(0, bytes.count - 22 - 65_535) {
            if try u32(at) == 0x0605_4B50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else {
            if bytes.count >= 2, bytes[0] == 0x80 {
                throw fail(path, "a legacy (pre-1.6) PyTorch checkpoint; re-save it with a current PyTorch, or convert it to safetensors")
            }
            throw fail(path, "not a ZIP archive (a PyTorch checkpoint is one)")
        }
        var count = try u16(eocd + 10), directorySize = try u32(eocd + 12), directoryOffset = try u32(eocd + 16)
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard try u32(locator) == 0x0706_4B50 else { throw fail(path, "ZIP64 locator missing") }
            let record = try u64(locator + 8)
            guard try u32(record) == 0x0606_4B50 else { throw fail(path, "ZIP64 end record missing") }
            count = try u64(record + 32); directorySize = try u64(record + 40); directoryOffset = try u64(record + 48)
        }
        guard count <= 1_000_000, directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw fail(path, "ZIP central directory out of range")
        }
        var entries: [ZipEntry] = []
        var cursor = directoryOffset
        for _ in 0..<count {
            guard try u32(cursor) == 0x0201_4B50 else { throw fail(path, "bad ZIP central directory entry") }
            let method = try u16(cursor + 10)
            var compressed = try u32(cursor + 20), uncompressed = try u32(cursor + 24)
            let nameLength = try u16(cursor + 28), extraLength = try u16(cursor + 30), commentLength = try u16(cursor + 32)
            var local = try u32(cursor + 42)
            guard cursor + 46 + nameLength <= bytes.count else { throw fail(path, "ZIP entry name out of range") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(cursor + 46)..<(cursor + 46 + nameLength)]), as: UTF8.self)
            // ZIP64 extra field: the 64-bit values of the fields that are 0xFFFFFFFF, in order.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try u16(extra), size = try u16(extra + 2)
                if id == 0x0001 {
                    var field = extra + 4
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try u64(field); field += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(field); field += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(field); field += 8 }
                }
                extra += 4 + size
            }
            cursor = extraEnd + commentLength
            guard method == 0, compressed == uncompressed else {
                throw fail(path, "ZIP entry \(name) is compressed (method \(method)); torch.save stores entries uncompressed")
            }
            guard try u32(local) == 0x0403_4B50 else { throw fail(path, "bad ZIP local header for \(name)") }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard start <= bytes.count, compressed <= bytes.count - start else { throw fail(path, "ZIP entry \(name) runs past the end of the file") }
            entries.append(ZipEntry(name: name, data: start..<(start + compressed)))
        }
        return entries
    }

    // MARK: State dict

    static func read(_ bytes: UnsafeRawBufferPointer, path: String) throws -> ([String: Entry], [String: String]) {
        let zip = try zipEntries(bytes, path: path)
        guard let pickle = zip.first(where: { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }) else {
            throw fail(path, "no data.pkl in the archive: not a PyTorch checkpoint")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        let storages = Dictionary(zip.map { ($0.name, $0.data) }, uniquingKeysWith: { a, _ in a })
        var machine = PickleMachine(bytes: UnsafeRawBufferPointer(rebasing: bytes[pickle.data]), path: path)
        var root = try machine.run()
        // A state dict, or a checkpoint that holds one under "state_dict" / "model".
        if case let .dict(object) = root, object.items.allSatisfy({ if case .tensor = $0.1 { return false }; return true }),
           let inner = object.items.first(where: { if case let .string(k) = $0.0 { return k == "state_dict" || k == "model" }; return false }) {
            root = inner.1
        }
        guard case let .dict(object) = root else { throw fail(path, "data.pkl holds no dictionary of tensors") }
        var entries: [String: Entry] = [:], skipped: [String: String] = [:]
        for (key, value) in object.items {
            guard case let .string(name) = key, case let .tensor(t) = value else { continue }
            guard let dtype = t.storage.dtype else { skipped[name] = t.storage.typeName; continue }
            guard let data = storages[prefix + "data/" + t.storage.key] else {
                throw fail(path, "tensor \(name): storage \(t.storage.key) is not in the archive")
            }
            guard t.shape.count == t.strides.count, t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }), t.offset >= 0,
                  let count = SafetensorsFile.elementCount(t.shape) else {
                throw fail(path, "tensor \(name): bad shape \(t.shape) or strides \(t.strides)")
            }
            // The last element the view reads must lie inside the storage.
            var last = t.offset
            for (size, stride) in Swift.zip(t.shape, t.strides) where size > 0 {
                let (product, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
                guard !overflow else { throw SafetensorsError.outOfBounds(path: path, tensor: name) }
                last += product
            }
            // …and a view never holds more elements than its storage (no broadcast views: a hostile shape could
            // otherwise ask for gigabytes from a few bytes).
            guard count == 0 || ((last + 1) * dtype.byteSize <= data.count && count * dtype.byteSize <= data.count) else {
                throw SafetensorsError.outOfBounds(path: path, tensor: name)
            }
            entries[name] = Entry(dtype: dtype, shape: t.shape, strides: t.strides, storage: data, storageOffset: t.offset)
        }
        return (entries, skipped)
    }
}

/// What the pickle machine builds: only the values a state dict is made of.
indirect enum PickleValue {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case tuple([PickleValue]), list(PickleList), dict(PickleDict)
    case global(module: String, name: String)
    case storage(PickleStorage)
    case tensor(PickleTensor)
    case mark
}

final class PickleList { var items: [PickleValue] = [] }
final class PickleDict { var items: [(PickleValue, PickleValue)] = [] }

struct PickleStorage {
    let typeName: String
    let key: String
    /// nil for element types Glimpse does not read.
    var dtype: DType? {
        switch typeName {
        case "FloatStorage": .f32
        case "HalfStorage": .f16
        case "BFloat16Storage": .bf16
        default: nil
        }
    }
}

struct PickleTensor { let storage: PickleStorage; let offset: Int; let shape: [Int]; let strides: [Int] }

/// A pickle reader for state dicts (protocols 2–5), with an allow-list of globals; it never calls anything.
struct PickleMachine {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0
    var stack: [PickleValue] = []
    var memo: [Int: PickleValue] = [:]

    init(bytes: UnsafeRawBufferPointer, path: String) { self.bytes = bytes; self.path = path }

    static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    ]

    func fail(_ reason: String) -> SafetensorsError { .badHeader(path: path, reason: "data.pkl: \(reason)") }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - position else { throw fail("a length runs past the end") }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    mutating func le(_ n: Int) throws -> Int {
        var v: UInt64 = 0
        for (i, b) in try take(n).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        guard v <= UInt64(Int.max) else { throw fail("length out of range") }
        return Int(v)
    }

    mutating func line() throws -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            out.append(b)
            guard out.count < 4096 else { throw fail("a line is too long") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        return v
    }

    /// The values pushed since the last MARK, removing the mark.
    mutating func popToMark() throws -> [PickleValue] {
        guard let mark = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else { throw fail("no MARK") }
        let items = Array(stack[(mark + 1)...])
        stack.removeSubrange(mark...)
        return items
    }

    mutating func push(_ v: PickleValue) throws {
        guard stack.count < 1_000_000 else { throw fail("stack too deep") }
        stack.append(v)
    }

    func int(_ v: PickleValue) throws -> Int {
        switch v {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: throw fail("expected an integer")
        }
    }

    func ints(_ v: PickleValue) throws -> [Int] {
        guard case let .tuple(items) = v else { throw fail("expected a tuple of integers") }
        return try items.map(int)
    }

    mutating func run() throws -> PickleValue {
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                  // PROTO
            case 0x95: _ = try take(8)                                 // FRAME
            case 0x2E: return try pop()                                // STOP
            case 0x28: try push(.mark)                                 // MARK
            case 0x4E: try push(.none)                                 // NONE
            case 0x88: try push(.bool(true))                           // NEWTRUE
            case 0x89: try push(.bool(false))                          // NEWFALSE
            case 0x4B: try push(.int(Int(try byte())))                 // BININT1
            case 0x4D: try push(.int(try le(2)))                       // BININT2
            case 0x4A:                                                 // BININT (signed 32-bit)
                let raw = try le(4)
                try push(.int(Int(Int32(truncatingIfNeeded: raw))))
            case 0x8A:                                                 // LONG1
                let n = Int(try byte())
                guard n <= 8 else { throw fail("integer too large") }
                var v: Int64 = 0
                let data = try take(n)
                for (i, b) in data.enumerated() { v |= Int64(b) << (8 * Int64(i)) }
                if n > 0 && n < 8 && data[n - 1] & 0x80 != 0 { v -= Int64(1) << (8 * Int64(n)) }
                try push(.int(Int(v)))
            case 0x47:                                                 // BINFLOAT (big-endian double)
                var v: UInt64 = 0
                for b in try take(8) { v = v << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: v)))
            case 0x58: try push(.string(String(decoding: try take(try le(4)), as: UTF8.self)))          // BINUNICODE
            case 0x8C: try push(.string(String(decoding: try take(Int(try byte())), as: UTF8.self)))    // SHORT_BINUNICODE
            case 0x8D: try push(.string(String(decoding: try take(try le(8)), as: UTF8.self)))          // BINUNICODE8
            case 0x43: try push(.bytes(Array(try take(Int(try byte())))))                              // SHORT_BINBYTES
            case 0x42: try push(.bytes(Array(try take(try le(4)))))                                    // BINBYTES
            case 0x29: try push(.tuple([]))                            // EMPTY_TUPLE
            case 0x74: try push(.tuple(try popToMark()))               // TUPLE
            case 0x85: try push(.tuple([try pop()]))                   // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(.tuple([a, b]))             // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple([a, b, c]))   // TUPLE3
            case 0x5D: try push(.list(PickleList()))                   // EMPTY_LIST
            case 0x7D: try push(.dict(PickleDict()))                   // EMPTY_DICT
            case 0x61:                                                 // APPEND
                let v = try pop()
                guard case let .list(list) = stack.last else { throw fail("APPEND to a non-list") }
                list.items.append(v)
            case 0x65:                                                 // APPENDS
                let items = try popToMark()
                guard case let .list(list) = stack.last else { throw fail("APPENDS to a non-list") }
                list.items += items
            case 0x73:                                                 // SETITEM
                let v = try pop(), k = try pop()
                guard case let .dict(dict) = stack.last else { throw fail("SETITEM on a non-dict") }
                dict.items.append((k, v))
            case 0x75:                                                 // SETITEMS
                let items = try popToMark()
                guard items.count % 2 == 0, case let .dict(dict) = stack.last else { throw fail("SETITEMS on a non-dict") }
                for i in stride(from: 0, to: items.count, by: 2) { dict.items.append((items[i], items[i + 1])) }
            case 0x71: memo[Int(try byte())] = stack.last              // BINPUT
            case 0x72: memo[try le(4)] = stack.last                    // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                   // MEMOIZE
            case 0x68, 0x6A:                                           // BINGET, LONG_BINGET
                let key = op == 0x68 ? Int(try byte()) : try le(4)
                guard let v = memo[key] else { throw fail("memo \(key) is unset") }
                try push(v)
            case 0x63:                                                 // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(try global(module, name))
            case 0x93:                                                 // STACK_GLOBAL
                guard case let .string(name) = try pop(), case let .string(module) = try pop() else { throw fail("STACK_GLOBAL needs strings") }
                try push(try global(module, name))
            case 0x51:                                                 // BINPERSID: a storage reference
                try push(try persistent(try pop()))
            case 0x52:                                                 // REDUCE
                let args = try pop(), callable = try pop()
                try push(try reduce(callable, args))
            case 0x81:                                                 // NEWOBJ
                let args = try pop(), cls = try pop()
                try push(try reduce(cls, args))
            case 0x62: _ = try pop()                                   // BUILD: object state (an OrderedDict's _metadata) is not needed
            case 0x30: _ = try pop()                                   // POP
            case 0x31: _ = try popToMark()                             // POP_MARK
            case 0x32: guard let top = stack.last else { throw fail("DUP on an empty stack") }; try push(top)   // DUP
            default:
                throw fail(String(format: "opcode 0x%02X is not one a state dict uses", op))
            }
        }
    }

    func global(_ module: String, _ name: String) throws -> PickleValue {
        let full = module + "." + name
        if module == "torch", name.hasSuffix("Storage") { return .global(module: module, name: name) }
        guard Self.allowedGlobals.contains(full) else {
            throw fail("refers to \(full), which a checkpoint of tensors does not need (Glimpse reads state dicts only, and never runs a pickle's code)")
        }
        return .global(module: module, name: name)
    }

    /// ('storage', torch.XStorage, key, location, numel)
    func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case let .tuple(items) = pid, items.count >= 3, case .string("storage") = items[0],
              case let .global(_, typeName) = items[1], case let .string(key) = items[2] else {
            throw fail("unknown persistent id")
        }
        guard !key.contains("/"), !key.contains("..") else { throw fail("bad storage key \(key)") }
        return .storage(PickleStorage(typeName: typeName, key: key))
    }

    func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case let .global(module, name) = callable, case let .tuple(a) = args else { throw fail("REDUCE needs a global and a tuple") }
        switch module + "." + name {
        case "collections.OrderedDict":
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4, case let .storage(storage) = a[0] else { throw fail("_rebuild_tensor needs a storage") }
            return .tensor(PickleTensor(storage: storage, offset: try int(a[1]), shape: try ints(a[2]), strides: try ints(a[3])))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let tensor = a.first, case .tensor = tensor else { throw fail("_rebuild_parameter needs a tensor") }
            return tensor
        default:
            throw fail("cannot build \(module).\(name)")
        }
    }
}
