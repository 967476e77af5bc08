import XCTest
@testable import Environments

/// The OS protocol: AgentBench's prompt, action extraction, observation format and check scripts.
final class OSProtocolTests: XCTestCase {
    func testParsingGoodAndMalformedActions() {
        let p = OSEnvironment.parseAction
        XCTAssertEqual(p("Think: list.\n\nAct: bash\n\n```bash\nls /etc\n```"), .bash("ls /etc"))
        XCTAssertEqual(p("Act: bash\n```bash\nls\n```\nand\n```bash\npwd\n```"), .bash("ls\n\npwd"))
        XCTAssertEqual(p("Act: Bash"), .bash(""))                      // no block: an empty command
        XCTAssertEqual(p("Think: got it.\n\nAct: answer(220)"), .answer("220"))
        XCTAssertEqual(p("Act: answer( a (b) c )"), .answer(" a (b) c "))
        XCTAssertEqual(p("Act: finish"), .finish)
        XCTAssertEqual(p("Act:\nfinish"), .finish)                     // \s* crosses the newline
        // the last valid Act wins; an answer without parentheses is skipped
        XCTAssertEqual(p("Act: bash\n```bash\nls\n```\nAct: answer(3)"), .answer("3"))
        XCTAssertEqual(p("Act: finish\nAct: answer 3"), .finish)
        for bad in ["I think the answer is 3", "act: bash", "Act: run ls", "Act: answer 3"] {
            guard case let .invalid(x) = p(bad) else { return XCTFail(bad) }
            XCTAssertEqual(x.outcome, .invalidAction, bad)
        }
    }

    func testInitialMessagesAndObservationFormat() throws {
        let tasks = try loadOrSkip(Paths.osDev)
        let spec = tasks[6].os!
        XCTAssertNil(spec.unrunnableReason)
        // the prompt is independent of the sandbox: build it through a static path
        let msgs = [EnvMessage.user(OSEnvironment.instructions + "Now, my problem is:\n\n" + OSEnvironment.oneShot[0].content)]
            + OSEnvironment.oneShot.dropFirst()
        XCTAssertEqual(msgs.count, 6)
        XCTAssert(msgs[0].content.hasPrefix("You are an assistant that will act like a person, I'will play the role of linux(ubuntu) operating system."))
        XCTAssert(msgs[0].content.hasSuffix("Once again, you should take only exact one of the three actions in each turn.\n\nNow, my problem is:\n\ntell me how many files are in the directory \"/etc\"?"))
        XCTAssertEqual(msgs.last?.content, "Think: Now I get the answer, it is 220.\n\nAct: answer(220)")
        XCTAssertEqual(OSEnvironment.formatOutput(""), "The output of the OS is empty.")
        XCTAssertEqual(OSEnvironment.formatOutput("220\n"), "The output of the OS:\n\n220\n")
        let long = OSEnvironment.formatOutput(String(repeating: "é", count: 801))
        XCTAssertEqual(long, "The output of the OS:\n\n" + String(repeating: "é", count: 780) + "\n[truncated because the output is too long]")
    }

    func testLoaderReadsCreateInitStartAndChecks() throws {
        let tasks = try loadOrSkip(Paths.osDev)
        XCTAssertEqual(tasks[0].os?.start?.code?.hasPrefix("python3 -c 'import time"), true)
        XCTAssertEqual(tasks[0].os?.match, "1")
        XCTAssertEqual(tasks[21].os?.initScripts.first?.code?.hasPrefix("echo 123>/root/.tmp"), true)   // init as a bare string
        XCTAssertEqual(tasks[10].os?.initScripts.count, 0)                                            // create as a list: no init
        XCTAssertEqual(tasks[13].os?.example?.code, "nproc")
        XCTAssertEqual(tasks[6].os?.check?.count, 2)
        let checks = tasks[6].os!.check!
        XCTAssertNil(checks[0])
        XCTAssertEqual(checks[1]?.file, "check/integer-match.py")
        XCTAssert(tasks[3].os?.unrunnableReason?.contains("check/0.sh") == true)
        XCTAssert(tasks[25].os?.unrunnableReason?.contains("init/stock-log.sh") == true)
    }

    func testCheckScriptsAsAgentBenchs() {
        let c = OSEnvironment.builtinCheck
        XCTAssertEqual(c("check/integer-match.py", [" 12", "12\n"]), true)
        XCTAssertEqual(c("check/integer-match.py", ["12.0", "12\n"]), false)     // int("12.0") raises
        XCTAssertEqual(c("check/integer-match.py", ["None", "3\n"]), false)
        XCTAssertEqual(c("check/string-match.py", ["installed", "installed\r\n"]), true)
        XCTAssertEqual(c("check/string-match.py", ["Installed", "installed\n"]), false)
        XCTAssertEqual(c("check/size-match.py", ["4K", "4096\n"]), true)
        XCTAssertEqual(c("check/size-match.py", ["4KB", "4K"]), false)   // "4KB" ends with "B" first: int("4K") raises
        XCTAssertNil(c("check/other.py", ["a", "b"]))
    }

    func testBashPolicyFindings() {
        func codes(_ s: String) -> [String] { OSEnvironment.bashPolicy(s, commandTimeout: 10).map(\.code) }
        XCTAssertEqual(codes("ls -l /etc | wc -l"), [])
        XCTAssertEqual(codes(""), ["bash.empty"])
        XCTAssert(codes("rm -rf /").contains("bash.dangerous"))
        XCTAssert(codes(":(){ :|:& };:").contains("bash.dangerous"))
        XCTAssert(codes("curl http://x").contains("bash.network"))
        XCTAssert(codes("apt-get -y install jq").contains("bash.network"))
        XCTAssert(codes("vim /etc/hosts").contains("bash.interactive"))
        XCTAssert(codes("while true; do echo; done").contains("bash.endless"))
        XCTAssert(codes("sleep 60").contains("bash.slow"))
    }
}
