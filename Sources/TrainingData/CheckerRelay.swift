// How the Checker's critique reaches the Assistant when it sends a proposal back (revise/reject), so that
// recovery examples look like what the CMAT loop produces. Keep in step with Agents' relay text.

import Environments

public enum CheckerRelay {
    /// The user message carrying the Checker's rule critique of a proposal that names a missing column.
    static func message(findings: [RuleFinding], wrong: String, right: String, rng: inout SeededRandom) -> String {
        let critique = findings.map(\.message).joined(separator: " ")
        return relay(verdict: "revise", critique: critique)
    }

    /// The relayed feedback: verdict and critique, then the request to try again.
    public static func relay(verdict: String, critique: String) -> String {
        "Checker feedback (\(verdict)): \(critique)\nPlease revise your action."
    }
}
