import Foundation

/// `CMAT_MEMTRACE=1`: `mark("point")` prints the process's resident memory at that point to stderr, as
/// `mem_<point>_rss_mb=` (VmRSS) with the peak so far (`_hwm_mb`, VmHWM) and its anonymous and file-backed parts
/// (`_anon_mb`, `_file_mb`), from /proc/self/status. For finding where a command's memory goes; prints nothing
/// otherwise (and nothing where /proc is missing).
public enum MemTrace {
    public static let enabled = ProcessInfo.processInfo.environment["CMAT_MEMTRACE"] == "1"

    /// VmRSS, VmHWM, RssAnon, RssFile in MB (nil where /proc/self/status cannot be read).
    public static func snapshot() -> (rss: Double, hwm: Double, anon: Double, file: Double)? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        func kb(_ key: String) -> Double {
            guard let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Double($0) }.first ?? 0
        }
        return (kb("VmRSS") / 1024, kb("VmHWM") / 1024, kb("RssAnon") / 1024, kb("RssFile") / 1024)
    }

    /// Peak resident set size of this process so far in MB (VmHWM), −1 where /proc/self/status cannot be read: the
    /// `peak_rss_mb` figures of the benchmarks.
    public static func peakRSSMB() -> Double { snapshot()?.hwm ?? -1 }

    public static func mark(_ point: String) {
        guard enabled, let m = snapshot() else { return }
        let f = { (x: Double) in String(format: "%.1f", x) }
        FileHandle.standardError.write(Data(("mem_\(point)_rss_mb=\(f(m.rss)) mem_\(point)_hwm_mb=\(f(m.hwm)) "
            + "mem_\(point)_anon_mb=\(f(m.anon)) mem_\(point)_file_mb=\(f(m.file))\n").utf8))
    }
}
