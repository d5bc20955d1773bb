import CGlimpseKernels
import Foundation

/// Anonymous memory mapped straight from the kernel for the big flat arrays of an index.
///
/// - Capacity that is reserved but never written costs address space only, not resident memory, so growth can
///   double without the index's footprint doubling; on Linux growth is `mremap` (no copy, no transient 2×).
/// - On Linux the mapping asks for transparent huge pages (`MADV_HUGEPAGE`): an HNSW search touches a few
///   thousand scattered vectors, and 2 MB pages remove most of the TLB misses that 4 KB pages cost.
/// Pages come zero-filled.
struct PageBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var bytes: Int

    init(bytes requested: Int) {
        let size = PageBuffer.rounded(requested)
        base = PageBuffer.map(size)
        bytes = size
    }

    private static func rounded(_ n: Int) -> Int {
        let page = 1 << 21  // round to 2 MB so huge pages can back the whole buffer
        if n <= 0 { return 4096 }
        return n < page ? (n + 4095) & ~4095 : (n + page - 1) & ~(page - 1)
    }

    private static func map(_ size: Int) -> UnsafeMutableRawPointer {
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("GlimpseIndex: cannot map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
        if size >= 1 << 21 { _ = madvise(p, size, 14 /* MADV_HUGEPAGE */) }
        #endif
        return p
    }

    /// Grows to at least `requested` bytes, keeping the contents (the base address may change).
    mutating func grow(to requested: Int) {
        guard requested > bytes else { return }
        let size = PageBuffer.rounded(requested)
        #if os(Linux)
        let p = glimpse_mremap(base, bytes, size)
        guard let p, p != MAP_FAILED else { fatalError("GlimpseIndex: cannot grow a mapping to \(size) bytes") }
        _ = madvise(p, size, 14)
        base = p
        #else
        let p = PageBuffer.map(size)
        p.copyMemory(from: base, byteCount: bytes)
        munmap(base, bytes)
        base = p
        #endif
        bytes = size
    }

    func release() { munmap(base, bytes) }
}
