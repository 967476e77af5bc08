// Writing and reading session logs. The writer appends one line per event with a single write(2) (no user-space
// buffer), so a `kill -9` loses at most the event being written; the reader tolerates such a torn last line.

import Foundation

/// Receives every event as it is recorded (the workbench's live view, tests, the writer itself).
public protocol EventSink: AnyObject {
    func record(_ event: SessionEvent)
}

/// Streaming text of a generation in progress (not persisted). Return `false` to cancel the generation.
public struct TokenChunk: Sendable {
    public var role: MessageRole        // assistant or checker (system = reflection writing)
    public var episode: Int
    public var step: Int
    public var text: String
    public init(role: MessageRole, episode: Int, step: Int, text: String) {
        self.role = role; self.episode = episode; self.step = step; self.text = text
    }
}
public typealias TokenCallback = (TokenChunk) -> Bool

/// Keeps events in memory (tests, live views).
public final class MemorySink: EventSink {
    private let lock = NSLock()
    private var _events: [SessionEvent] = []
    public init() {}
    public func record(_ event: SessionEvent) { lock.withLock { _events.append(event) } }
    public var events: [SessionEvent] { lock.withLock { _events } }
}

/// Forwards each event to several sinks in order.
public final class FanOutSink: EventSink {
    public var sinks: [EventSink]
    public init(_ sinks: [EventSink]) { self.sinks = sinks }
    public func record(_ event: SessionEvent) { for s in sinks { s.record(event) } }
}

public struct SessionError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let message: String
    public init(file: String, line: Int?, message: String) { self.file = file; self.line = line; self.message = message }
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Appends events to a JSONL file, one write per event. Assigns `seq` numbers. Thread-safe.
public final class SessionWriter: EventSink {
    public let path: String
    private let handle: FileHandle
    private let encoder: JSONEncoder
    private let lock = NSLock()
    private var nextSeq: Int
    /// Live consumers, called after each event is on disk.
    public var observers: [EventSink] = []
    public private(set) var lastError: SessionError?

    /// Creates (or truncates) `path`.
    public convenience init(creating path: String) throws {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw SessionError(file: path, line: nil, message: "cannot create the session file")
        }
        try self.init(path: path, appendAfter: 0, nextSeq: 0)
    }

    /// Continues an existing log: cuts off a torn last line, then appends after the last complete event.
    public convenience init(resuming path: String) throws {
        let log = try SessionReader.read(path: path)
        try self.init(path: path, appendAfter: log.validByteCount, nextSeq: (log.events.last?.seq ?? -1) + 1)
        if log.missingFinalNewline { try handle.write(contentsOf: Data([0x0A])) }
    }

    private init(path: String, appendAfter offset: Int, nextSeq: Int) throws {
        self.path = path
        guard let h = FileHandle(forUpdatingAtPath: path) else {
            throw SessionError(file: path, line: nil, message: "cannot open the session file for writing")
        }
        handle = h
        do {
            try h.truncate(atOffset: UInt64(offset))
            try h.seek(toOffset: UInt64(offset))
        } catch {
            throw SessionError(file: path, line: nil, message: "cannot truncate the torn tail: \(error)")
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.nextSeq = nextSeq
    }

    deinit { try? handle.close() }

    /// Writes the event (with the next `seq`) and returns it as written. Errors are kept in `lastError`
    /// (a full disk must not kill a run in flight); use `append` to get them thrown.
    @discardableResult
    public func write(_ event: SessionEvent) -> SessionEvent {
        do { return try append(event) } catch let e as SessionError { lastError = e; return event }
        catch { lastError = SessionError(file: path, line: nil, message: "\(error)"); return event }
    }

    @discardableResult
    public func append(_ event: SessionEvent) throws -> SessionEvent {
        let written: SessionEvent = try lock.withLock {
            var e = event
            e.seq = nextSeq
            var data = try encoder.encode(e)
            data.append(0x0A)
            do { try handle.write(contentsOf: data) } catch {
                throw SessionError(file: path, line: nil, message: "write failed: \(error)")
            }
            nextSeq += 1
            return e
        }
        for o in observers { o.record(written) }
        return written
    }

    public func record(_ event: SessionEvent) { write(event) }

    /// Forces the data to stable storage (the writer already hands every line to the kernel; this is for power loss).
    public func sync() { try? handle.synchronize() }
}

/// A parsed session log.
public struct SessionLog: Sendable {
    public var path: String
    public var events: [SessionEvent]
    /// Bytes of the file that hold complete, valid lines (where a resuming writer continues).
    public var validByteCount: Int
    /// Whether the last line was torn (incomplete and unparsable) and was ignored.
    public var tornTail: Bool
    /// Whether the last (valid) event lacks its newline.
    public var missingFinalNewline: Bool = false

    /// Events grouped by episode number, in order of first appearance, with what a resume superseded left out
    /// (see `RunResumed`). `rawEvents` of each episode keeps everything.
    public var episodes: [EpisodeLog] {
        var abandoned = Set<Int>()
        var cuts: [Int: [(Int, Int)]] = [:]   // episode → [(keptThroughSeq, resumeSeq)]
        for e in events {
            if case let .runResumed(r) = e.body {
                abandoned.formUnion(r.abandonedEpisodes)
                for p in r.resumedEpisodes { cuts[p.episode, default: []].append((p.keptThroughSeq, e.seq)) }
            }
        }
        var order: [Int] = []
        var byEpisode: [Int: [SessionEvent]] = [:]
        for e in events {
            guard let ep = e.episode, !abandoned.contains(ep) else { continue }
            if let cs = cuts[ep], cs.contains(where: { e.seq > $0.0 && e.seq < $0.1 }) { continue }
            if byEpisode[ep] == nil { order.append(ep) }
            byEpisode[ep, default: []].append(e)
        }
        return order.map { EpisodeLog(episode: $0, events: byEpisode[$0]!) }
    }

    public var runStart: RunStart? {
        for e in events { if case let .runStart(s) = e.body { return s } }
        return nil
    }
}

/// The events of one episode.
public struct EpisodeLog: Sendable {
    public var episode: Int
    public var events: [SessionEvent]
    public var start: EpisodeStart? {
        for e in events { if case let .episodeStart(s) = e.body { return s } }
        return nil
    }
    public var end: EpisodeEnd? {
        for e in events.reversed() { if case let .episodeEnd(s) = e.body { return s } }
        return nil
    }
    public var isComplete: Bool { end != nil }
}

public enum SessionReader {
    /// Reads a whole log. A malformed line throws a `SessionError` naming the file and line, except a torn last
    /// line (no newline at the end and not parsable), which is ignored and reported in `tornTail`.
    public static func read(path: String) throws -> SessionLog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SessionError(file: path, line: nil, message: "cannot read the session file")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String = "<memory>") throws -> SessionLog {
        let decoder = JSONDecoder()
        var events: [SessionEvent] = []
        var valid = 0
        var torn = false
        var missingNewline = false
        var lineNo = 0
        let bytes = [UInt8](data)
        var start = 0
        while start < bytes.count {
            lineNo += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let hasNewline = end < bytes.count
            let slice = bytes[start..<end]
            let isBlank = slice.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if !isBlank {
                do {
                    let e = try decoder.decode(SessionEvent.self, from: Data(slice))
                    if e.v > sessionSchemaVersion {
                        throw SessionError(file: path, line: lineNo,
                                           message: "schema version \(e.v) is newer than this reader's \(sessionSchemaVersion)")
                    }
                    events.append(e)
                } catch let se as SessionError {
                    throw se
                } catch {
                    if !hasNewline { torn = true; break }
                    throw SessionError(file: path, line: lineNo, message: "malformed event: \(describe(error))")
                }
            }
            if !hasNewline {
                // A complete event without its newline (a hand-written file): keep it; a resuming writer adds the newline.
                valid = bytes.count
                missingNewline = !isBlank
                if isBlank { valid = start }
                break
            }
            start = end + 1
            valid = start
        }
        return SessionLog(path: path, events: events, validByteCount: valid, tornTail: torn, missingFinalNewline: missingNewline)
    }

    public static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, ctx):
            return "missing key '\(key.stringValue)'" + path(ctx)
        case let DecodingError.typeMismatch(t, ctx):
            return "expected \(t)" + path(ctx)
        case let DecodingError.valueNotFound(t, ctx):
            return "missing value of type \(t)" + path(ctx)
        case let DecodingError.dataCorrupted(ctx):
            return "not valid JSON" + path(ctx)
        default:
            return "\(error)"
        }
    }
    private static func path(_ ctx: DecodingError.Context) -> String {
        let p = ctx.codingPath.map { $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "" : " at '\(p)'"
    }
}

/// Follows a log that is being written (for live views): each `poll()` returns the complete new events.
public final class SessionFollower {
    public let path: String
    private var offset: UInt64 = 0
    private var lineNo = 0
    private var pending = Data()
    private let decoder = JSONDecoder()
    public init(path: String) { self.path = path }

    public func poll() throws -> [SessionEvent] {
        guard let h = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? h.close() }
        try h.seek(toOffset: offset)
        let data = h.readDataToEndOfFile()
        offset += UInt64(data.count)
        pending.append(data)
        var out: [SessionEvent] = []
        while let nl = pending.firstIndex(of: 0x0A) {
            let line = pending[pending.startIndex..<nl]
            pending = Data(pending[(nl + 1)...])
            lineNo += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            do { out.append(try decoder.decode(SessionEvent.self, from: Data(line))) } catch {
                throw SessionError(file: path, line: lineNo, message: "malformed event: \(SessionReader.describe(error))")
            }
        }
        return out
    }
}
