// AgentBench's table hash for mutation tasks, computed from rows in memory, to write `answer_md5` for generated
// tasks (which the environment then checks against the table its gold SQL leaves behind). The hash itself is the
// environment's, so generated tasks and evaluation can never disagree on it.

import Environments

public enum TableHash {
    public static func agentBench(_ rows: [[String]]) -> String {
        DBEnvironment.tableHash(rows: rows.map { $0.map { Optional($0) } })
    }
}
