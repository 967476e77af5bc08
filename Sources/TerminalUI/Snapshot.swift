// Text snapshots for screen tests: compare a rendered screen with a stored file, or record it
// when the environment has RECORD_SNAPSHOTS=1.

import Foundation

public enum Snapshot {
    public static var recording: Bool { ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1" }

    /// Compares `actual` with the file at `path` (or writes it when recording). Returns nil when they match,
    /// else a message with a line diff.
    public static func check(_ actual: String, path: String) -> String? {
        let text = actual.hasSuffix("\n") ? actual : actual + "\n"
        if recording {
            try? FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                     withIntermediateDirectories: true)
            do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch { return "cannot record \(path): \(error)" }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return "no snapshot at \(path); run the tests with RECORD_SNAPSHOTS=1 to record it\n--- actual ---\n\(text)"
        }
        let expected = String(decoding: data, as: UTF8.self)
        if expected == text { return nil }
        return "snapshot \(path) differs (- stored, + actual; RECORD_SNAPSHOTS=1 re-records):\n" + lineDiff(expected: expected, actual: text)
    }
}
