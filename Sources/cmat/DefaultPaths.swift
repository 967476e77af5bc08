import Foundation

/// Where cmat finds its files when no flag says otherwise.
enum DefaultPaths {
    static let modelFileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// `$CMAT_MODEL`, else `models/<default>` under the current directory or above the executable.
    static var model: String {
        if let env = ProcessInfo.processInfo.environment["CMAT_MODEL"], !env.isEmpty { return env }
        return findUpward("models/" + modelFileName) ?? "models/" + modelFileName
    }

    /// `../shared` next to the project root, where AgentBench dev splits and oracles live.
    static var shared: String { findUpward("../shared") ?? "../shared" }

    /// Looks for `relative` under the working directory, then under each parent of the executable's folder.
    static func findUpward(_ relative: String) -> String? {
        let fm = FileManager.default
        if fm.fileExists(atPath: relative) { return relative }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(relative).standardized.path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }
}

/// A failure with a message for the user (exit code 1, no stack trace).
struct UserFacingError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
