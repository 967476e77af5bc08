import ArgumentParser
import Foundation
import Agents
import TrainingData

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Training data: synthetic DB trajectories and OS trajectories as SFT JSONL.",
        subcommands: [DataGenCommand.self])
}

struct DataGenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate AgentBench-protocol trajectories as TRL {\"messages\": [...]} JSONL (deterministic given --seed).",
        discussion: """
            db: synthetic tables and questions (SELECT-type, INSERT, UPDATE, DELETE), gold SQL executed in the DB \
            environment, kept only when the environment scores the episode correct.
            os: the example solution of each task of --source (default ../shared/agentbench/os_interaction/train.json) \
            run in the sandbox, kept only when the task's check passes.
            os-synth: generated shell tasks (files, text, users and groups, system facts, permissions, processes; \
            --families to restrict) with random fixtures, their solutions run in the sandbox, kept only when the \
            environment's check passes; --tasks-out writes the kept tasks as an AgentBench OS task file.
            """)

    enum Env: String, ExpressibleByArgument { case db, os, osSynth = "os-synth" }

    @Option(help: "db, os or os-synth.") var env: Env
    @Option(help: "db: trajectories to generate (before dropping); os: tasks to try (same as --limit).") var count: Int?
    @Option(help: "os: tasks to try.") var limit: Int?
    @Option(help: "os: first task of the file to try.") var offset: Int = 0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "os: the AgentBench OS task file (training split only).") var source: String?
    @Option(name: .customLong("recover-fraction"), help: "db: share of trajectories that recover from a wrong column after feedback.")
    var recoverFraction: Double = 0.15
    @Option(help: "os: episodes run at once.") var jobs: Int = 2
    @Option(name: .customLong("tasks-out"), help: "db: also write the generated tasks in AgentBench dbbench JSONL; os-synth: the kept tasks as an OS task file (.json). For cmat run / eval.")
    var tasksOut: String?
    @Option(help: "os-synth: comma-separated task families (default all).") var families: String?
    @Option(name: .customLong("explore-fraction"), help: "os-synth: share of trajectories that look around first.")
    var exploreFraction: Double = 0.25
    @Option(help: "The Assistant role prompt to put first (as cmat run sends it): direct, cot, react or none.")
    var mode: String = "react"
    @Option(help: "Output JSONL file.") var out: String

    var systemPrompt: String? {
        guard mode != "none", let m = PromptMode(rawValue: mode) else { return nil }
        return LoopText.systemPrompt(mode: m)
    }

    func validate() throws {
        if mode != "none" && PromptMode(rawValue: mode) == nil {
            throw ValidationError("--mode must be direct, cot, react or none (got \(mode))")
        }
        if let c = count, c < 1 { throw ValidationError("--count must be at least 1") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1") }
        if !(0...1).contains(recoverFraction) { throw ValidationError("--recover-fraction must be between 0 and 1") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if env == .db && (source != nil || limit != nil) { throw ValidationError("--source and --limit apply to --env os") }
        if env == .os && tasksOut != nil { throw ValidationError("--tasks-out applies to --env db and os-synth") }
        if env != .osSynth && families != nil { throw ValidationError("--families applies to --env os-synth") }
        if env == .osSynth && (source != nil || limit != nil) { throw ValidationError("--source and --limit apply to --env os") }
        if !(0...1).contains(exploreFraction) { throw ValidationError("--explore-fraction must be between 0 and 1") }
        do { try OSTaskFamilies.validate(familySet) } catch { throw ValidationError("--families: \(error)") }
    }

    private var familySet: Set<String>? {
        families.map { Set($0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }) }
    }

    func run() throws {
        let started = Date()
        switch env {
        case .db:
            var o = DBGenOptions()
            o.count = count ?? 1000
            o.seed = seed
            o.recoverFraction = recoverFraction
            o.systemPrompt = systemPrompt
            let (records, report) = try DBGenerator.generate(options: o, tasksFile: tasksOut) { done, total in
                if done % 100 == 0 || done == total { progressLine("db \(done)/\(total)") }
            }
            try SFTWriter.write(records, to: out)
            finishProgress()
            print(report)
        case .os:
            var o = OSGenOptions()
            o.limit = limit ?? count ?? .max
            o.offset = offset
            o.jobs = jobs
            o.seed = seed
            o.systemPrompt = systemPrompt
            let path = source ?? DefaultPaths.shared + "/agentbench/os_interaction/train.json"
            let t0 = Date()
            let (records, report) = try OSGenerator.generate(source: path, options: o) { done, total, kept in
                let rate = Double(done) / max(Date().timeIntervalSince(t0), 0.001)
                let eta = Int(Double(total - done) / max(rate, 0.001))
                progressLine("os \(done)/\(total), kept \(kept), ETA \(eta / 60)m\(eta % 60)s")
            }
            try SFTWriter.write(records, to: out)
            finishProgress()
            print(report)
        case .osSynth:
            var o = OSSynthOptions()
            o.count = count ?? 500
            o.seed = seed
            o.jobs = jobs
            o.exploreFraction = exploreFraction
            o.families = familySet
            o.systemPrompt = systemPrompt
            let t0 = Date()
            let (records, tasks, report) = try OSSynthGenerator.generate(options: o) { done, total, kept in
                let rate = Double(done) / max(Date().timeIntervalSince(t0), 0.001)
                let eta = Int(Double(total - done) / max(rate, 0.001))
                progressLine("os-synth \(done)/\(total), kept \(kept), ETA \(eta / 60)m\(eta % 60)s")
            }
            try SFTWriter.write(records, to: out)
            if let t = tasksOut { try OSSynthGenerator.writeTasks(tasks, to: t) }
            finishProgress()
            print(report)
        }
        print("wrote \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}

private func progressLine(_ s: String) {
    FileHandle.standardError.write(Data(("\r" + s + "   ").utf8))
}

private func finishProgress() { FileHandle.standardError.write(Data("\n".utf8)) }
