import XCTest
@testable import Environments

final class DBGoldTests: XCTestCase {
    /// Every DB dev task's gold solution through the environment: mutation tasks run the label SQL and are
    /// scored by the table hash; SELECT-type tasks answer the label through the protocol.
    func testGoldSolutionsOfAllDevTasksScoreCorrect() throws {
        let tasks = try loadOrSkip(Paths.dbDev)
        XCTAssertEqual(tasks.count, 60)
        var failures: [String] = []
        for task in tasks {
            let env = try DBEnvironment(task: task)
            defer { env.close() }
            let spec = task.db!
            if spec.isMutation {
                XCTAssertNotEqual(env.tableHash(), spec.answerMD5, "\(task.id): the untouched table must not already match")
                for sql in spec.label {
                    let a = env.parse("Let me do it.\nAction: Operation\n```sql\n\(sql)\n```")
                    guard case .sql = a else { failures.append("\(task.id): gold did not parse: \(a)"); continue }
                    let obs = env.step(a)
                    XCTAssertEqual(obs.text, "[]", "\(task.id): \(sql)")
                }
                _ = env.step(env.parse("Done.\nAction: Answer\nFinal Answer: [\"none\"]"))
            } else {
                let answer = PyValue.list(spec.label.map { .str($0) }).repr
                let obs = env.step(env.parse("I know it.\nAction: Answer\nFinal Answer: \(answer)"))
                XCTAssertEqual(obs.outcome, .completed)
            }
            let s = env.score()
            if !s.correct { failures.append("\(task.id) [\(task.type)]: got \(s.answer ?? "nil"), expected \(s.expected ?? "nil")") }
        }
        let correct = tasks.count - failures.count
        print("DB gold replay: \(correct)/\(tasks.count) correct")
        XCTAssertEqual(failures, [], "\(correct)/\(tasks.count) correct")
    }

    /// The SQL the SELECT-type tasks were generated from is often not valid MySQL (spaces in unquoted names,
    /// missing spaces, wrong table names); the valid ones reproduce their labels through the MySQL emulation,
    /// e.g. dev-00010's `Frequency MHz` <107.7 (a numeric comparison on a TEXT column).
    func testValidSourceSQLReproducesLabels() throws {
        let tasks = try loadOrSkip(Paths.dbDev)
        var reproduced: [Int] = []
        for task in tasks where !task.db!.isMutation {
            let env = try DBEnvironment(task: task)
            let out = env.execute(task.db!.sourceSQL ?? "")
            guard let v = PythonLiteral.eval(out), case let .list(rows) = v else { continue }
            let firsts = rows.compactMap { r -> PyValue? in if case let .tuple(t) = r { return t.first } else { return nil } }
            if DBEnvironment.answerMatches(PyValue.list(firsts).repr, label: task.db!.label) { reproduced.append(task.index) }
        }
        print("DB source SQL of SELECT-type tasks reproducing the label: \(reproduced)")
        XCTAssertEqual(reproduced, [3, 4, 10, 14])
    }
}
