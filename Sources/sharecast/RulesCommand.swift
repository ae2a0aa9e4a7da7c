import ArgumentParser
import Foundation
import SharecastRules

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check Prometheus rule files and run their unit tests with Sharecast's own evaluator.",
        subcommands: [Check.self, Test.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load rule files as Sharecast would; report every problem with file:line.")

        @Argument(help: "Rule files (YAML, the format Prometheus loads).")
        var files: [String]

        func run() throws {
            var failed = false
            for file in files {
                printOutput("Checking \(file)")
                do {
                    let groups = try RuleFileLoader.load(paths: [file])
                    printOutput("  SUCCESS: \(groups.reduce(0) { $0 + $1.rules.count }) rules found")
                } catch {
                    failed = true
                    printOutput("  FAILED:")
                    for problem in error.errors { printError(problem.description) }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run promtool-format rule unit tests (input_series, alert_rule_test, promql_expr_test).")

        @Argument(help: "Test files.")
        var files: [String]

        func run() throws {
            var failed = false
            for file in files {
                let outcome = RuleTestRunner.run(file: file)
                FileHandle.standardOutput.write(Data(outcome.report.utf8))
                if !outcome.passed { failed = true }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
