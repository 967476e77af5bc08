// Long-term memory: Reflexion-style self-reflections, persisted in a JSONL file (one `ReflectionRecord` a line).
//
// Written only after a failed attempt, and only when the reflection is not empty (an empty one never overwrites).
// Retrieval for a task: candidates are the reflections of the same environment and the same task type (DB: the task's
// category SELECT/INSERT/UPDATE/DELETE; OS: "os"); each is scored by the token-set Jaccard similarity of its task text
// and the new task's text (lower-cased alphanumeric words, stop words removed); a reflection written for the very same
// task counts as similarity 1. The best `limit` with similarity ≥ `minSimilarity` are injected, newest first on ties,
// each shown with its provenance (task, trial, run, episode).
//
// People may edit or delete reflections (the workbench's memory inspector): `update` and `delete` rewrite the file
// atomically (a temporary file in the same folder, then rename), after re-reading it so that reflections another
// process appended since this store was loaded are kept. An empty edited text never replaces a reflection.

import Foundation
import Sessions

public final class ReflectionMemory {
    public let path: String?
    private var stored: [ReflectionRecord] = []
    /// The reflections held now (a copy, safe to read from any thread).
    public var records: [ReflectionRecord] { lock.withLock { stored } }
    private let lock = NSLock()

    /// In-memory only (no file).
    public init() { path = nil }

    /// Loads `path` if it exists (a torn last line is ignored; any other bad line throws naming file and line).
    public init(path: String) throws {
        self.path = path
        stored = try Self.load(path: path, cutTornTail: true)
    }

    /// The records of a memory file (none if it does not exist).
    static func load(path: String, cutTornTail: Bool) throws -> [ReflectionRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var out: [ReflectionRecord] = []
        let decoder = JSONDecoder()
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where !line.isEmpty {
            do { out.append(try decoder.decode(ReflectionRecord.self, from: Data(line))) } catch {
                if i == lines.count - 1 { break }   // torn last line
                throw SessionError(file: path, line: i + 1, message: "malformed reflection: \(SessionReader.describe(error))")
            }
        }
        // Cut a torn tail so that the next append starts on a fresh line.
        if cutTornTail, let last = lines.last, !last.isEmpty {
            let keep = data.count - last.count
            if let h = FileHandle(forWritingAtPath: path) { try? h.truncate(atOffset: UInt64(keep)); try? h.close() }
        }
        return out
    }

    /// The reflection with this id (the newest, should ids repeat).
    public func record(id: String) -> ReflectionRecord? { lock.withLock { stored.last { $0.id == id } } }

    /// Replaces the text of reflection `id` (every record with that id), stamping editor and time. Returns the
    /// record before and after the change; nil when no reflection has that id. An empty `text` (blank after trimming)
    /// throws `ReflectionEditError.emptyText` and changes nothing: an empty reflection never overwrites one.
    @discardableResult
    public func update(id: String, text: String, editor: String? = nil,
                       at time: Double = Date().timeIntervalSince1970) throws -> (before: ReflectionRecord, after: ReflectionRecord)? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty else { throw ReflectionEditError.emptyText(id: id) }
        return try lock.withLock {
            var all = try current()
            guard let before = all.last(where: { $0.id == id }) else { return nil }
            for i in all.indices where all[i].id == id {
                all[i].text = t; all[i].editedBy = editor; all[i].editedAt = time
            }
            try persist(all)
            stored = all
            return (before, all.last { $0.id == id }!)
        }
    }

    /// Removes reflection `id` (every record with that id). Returns the removed record; nil when there was none.
    @discardableResult
    public func delete(id: String) throws -> ReflectionRecord? {
        try lock.withLock {
            var all = try current()
            guard let gone = all.last(where: { $0.id == id }) else { return nil }
            all.removeAll { $0.id == id }
            try persist(all)
            stored = all
            return gone
        }
    }

    /// What the store holds now: the file as it is on disk (another process may have appended), else memory.
    private func current() throws -> [ReflectionRecord] {
        guard let path else { return stored }
        return try Self.load(path: path, cutTornTail: false)
    }

    /// Writes `all` to a temporary file beside the store, syncs it, and renames it over the store.
    private func persist(_ all: [ReflectionRecord]) throws {
        guard let path else { return }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for r in all { data.append(try enc.encode(r)); data.append(0x0A) }
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: nil),
              let h = FileHandle(forWritingAtPath: tmp) else {
            throw SessionError(file: tmp, line: nil, message: "cannot create the temporary memory file")
        }
        do {
            try h.write(contentsOf: data)
            try h.synchronize()
            try h.close()
        } catch {
            try? h.close(); unlink(tmp)
            throw SessionError(file: tmp, line: nil, message: "writing the memory file failed: \(error)")
        }
        guard rename(tmp, path) == 0 else {
            let err = String(cString: strerror(errno))
            unlink(tmp)
            throw SessionError(file: path, line: nil, message: "cannot replace the memory file: \(err)")
        }
    }

    /// Stores a reflection (and appends it to the file). Returns false (stores nothing) when the text is empty.
    @discardableResult
    public func add(_ r: ReflectionRecord) throws -> Bool {
        guard !r.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return false }
        try lock.withLock {
            if let path {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                var line = try enc.encode(r)
                line.append(0x0A)
                if !FileManager.default.fileExists(atPath: path) {
                    let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
                    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    FileManager.default.createFile(atPath: path, contents: nil)
                }
                guard let h = FileHandle(forWritingAtPath: path) else {
                    throw SessionError(file: path, line: nil, message: "cannot open the memory file for writing")
                }
                defer { try? h.close() }
                try h.seekToEnd()
                try h.write(contentsOf: line)
            }
            stored.append(r)
        }
        return true
    }

    static let stopWords: Set<String> = ["the", "a", "an", "of", "to", "in", "and", "or", "is", "are", "what", "which",
        "that", "for", "on", "with", "as", "by", "be", "it", "this", "from", "at", "was", "i", "you", "me", "my", "your",
        "do", "does", "how", "many", "there", "please", "table", "can"]

    public static func tokens(_ s: String) -> Set<String> {
        var out = Set<String>()
        var cur = ""
        for ch in s.lowercased() {
            if ch.isLetter || ch.isNumber { cur.append(ch) } else if !cur.isEmpty {
                if !stopWords.contains(cur) { out.insert(cur) }
                cur = ""
            }
        }
        if !cur.isEmpty && !stopWords.contains(cur) { out.insert(cur) }
        return out
    }

    public static func jaccard(_ a: Set<String>, _ b: Set<String>) -> Double {
        if a.isEmpty && b.isEmpty { return 0 }
        return Double(a.intersection(b).count) / Double(a.union(b).count)
    }

    /// Reflections for a task, best first.
    public func retrieve(env: String, taskType: String, taskId: String, taskText: String,
                         limit: Int = 2, minSimilarity: Double = 0.1) -> [InjectedReflection] {
        let q = Self.tokens(taskText)
        let all = lock.withLock { stored }
        var scored: [(InjectedReflection, Int)] = []
        for (i, r) in all.enumerated() where r.env == env && r.taskType == taskType {
            let sim = r.taskId == taskId ? 1.0 : Self.jaccard(q, Self.tokens(r.taskText))
            if sim >= minSimilarity { scored.append((InjectedReflection(reflection: r, similarity: sim), i)) }
        }
        scored.sort { $0.0.similarity != $1.0.similarity ? $0.0.similarity > $1.0.similarity : $0.1 > $1.1 }
        return scored.prefix(limit).map(\.0)
    }

    /// How reflections are shown to the Assistant (in its system prompt), with provenance.
    public static func render(_ items: [InjectedReflection]) -> String {
        guard !items.isEmpty else { return "" }
        var s = "Lessons from your earlier attempts (long-term memory):"
        for it in items {
            let r = it.reflection
            s += "\n- [task \(r.taskId), trial \(r.trial), \(r.outcome.label), run \(r.run) episode \(r.episode)] "
            s += r.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return s
    }
}

public enum ReflectionEditError: Error, Equatable, CustomStringConvertible {
    case emptyText(id: String)
    public var description: String {
        switch self {
        case .emptyText(let id): return "an empty text does not replace reflection \(id) (delete it instead)"
        }
    }
}
