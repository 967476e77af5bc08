import Foundation
import Kernels

/// The quantized matrices of a model copied out of the memory-mapped file into one anonymous region backed by 2 MB
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`), the file's pages of each copied tensor released right after
/// its copy (`MADV_DONTNEED`: the resident size stays that of one copy). Decode streams all the weights for every token;
/// 4 KB pages cost a TLB walk every 4 KB of that stream. `CMAT_HUGEPAGES=0` keeps the weights in the mapped file.
final class WeightArena: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let bytes: Int
    private let region: Region
    private var used = 0

    static let hugePage = 2 << 20
    static var enabled: Bool {
        #if os(Linux)
        return ProcessInfo.processInfo.environment["CMAT_HUGEPAGES"] != "0"
        #else
        return false
        #endif
    }

    /// Nil where `region(bytes:)` is (huge pages off, not Linux, or mmap failed).
    init?(bytes: Int) {
        guard let r = Self.region(bytes: bytes) else { return nil }
        region = r
        base = r.base
        self.bytes = r.bytes
    }

    /// Copies `m`'s data into the arena (64-byte aligned) and releases the source pages; returns the relocated matrix.
    func relocate(_ m: QuantizedMatrix) -> QuantizedMatrix {
        let n = m.rows * m.rowBytes
        let off = (used + 63) & ~63
        precondition(off + n <= bytes, "WeightArena: sized too small")
        used = off + n
        let dst = base + off
        dst.copyMemory(from: m.data, byteCount: n)
        #if os(Linux)
        // drop the file pages that lie wholly inside the tensor from this process (the page cache keeps them)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (Int(bitPattern: m.data) + page - 1) / page * page, hi = (Int(bitPattern: m.data) + n) / page * page
        if hi > lo { _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, MADV_DONTNEED) }
        #endif
        return QuantizedMatrix(type: m.type, rows: m.rows, cols: m.cols, data: UnsafeRawPointer(dst), owner: self)
    }

    /// Bytes `relocate` needs for these matrices.
    static func bytesNeeded(_ ms: [QuantizedMatrix]) -> Int { ms.reduce(0) { (($0 + 63) & ~63) + $1.rows * $1.rowBytes } + 64 }

    /// A zero-filled anonymous mapping of at least `bytes`, 2 MB aligned and advised for huge pages (nil where
    /// huge pages are off: `CMAT_HUGEPAGES=0`, not Linux, or mmap failed). Unmapped when the region goes away.
    final class Region: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        /// Usable bytes from `base` (a whole number of huge pages).
        let bytes: Int
        private let mapped: UnsafeMutableRawPointer
        private let mappedBytes: Int
        init(base: UnsafeMutableRawPointer, bytes: Int, mapped: UnsafeMutableRawPointer, mappedBytes: Int) {
            self.base = base; self.bytes = bytes; self.mapped = mapped; self.mappedBytes = mappedBytes
        }
        deinit {
            #if os(Linux)
            munmap(mapped, mappedBytes)
            #endif
        }
    }

    static func region(bytes: Int) -> Region? {
        #if os(Linux)
        guard enabled else { return nil }
        let size = (max(bytes, 1) + hugePage - 1) / hugePage * hugePage
        guard let p = mmap(nil, size + hugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else { return nil }
        let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: p) + hugePage - 1) / hugePage * hugePage)!
        _ = madvise(aligned, size, 14 /* MADV_HUGEPAGE */)
        return Region(base: aligned, bytes: size, mapped: p, mappedBytes: size + hugePage)
        #else
        return nil
        #endif
    }
}
