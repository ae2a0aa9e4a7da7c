import Foundation
import SharecastRules
import Testing

/// The shipped rule files, checked by promtool and by Sharecast alike, and bad rule files.
@Suite struct RuleFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func files(_ directory: String, suffix: String = ".yml") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(directory)").filter { $0.hasSuffix(suffix) }.sorted().map { "\(root)/\(directory)/\($0)" }
    }

    @Test func promtoolAndSharecastBothPassTheShippedRulesAndTests() async throws {
        let promtool = try Tools.require("promtool")
        let rules = try Self.files("alerts"), tests = try Self.files("alerts/tests")
        #expect(!rules.isEmpty && !tests.isEmpty)
        let check = try await ChildProcess.run(promtool, ["check", "rules"] + rules)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let promtoolTests = try await ChildProcess.run(promtool, ["test", "rules"] + tests)
        #expect(promtoolTests.status == 0, "\(promtoolTests.stdout)\(promtoolTests.stderr)")
        let ours = try await ChildProcess.run(Tools.sharecast, ["rules", "test"] + tests)
        #expect(ours.status == 0, "\(ours.stdout)\(ours.stderr)")
        #expect(ours.stdout.contains("SUCCESS"))
        let ourCheck = try await ChildProcess.run(Tools.sharecast, ["rules", "check"] + rules)
        #expect(ourCheck.status == 0 && ourCheck.stdout.contains("SUCCESS: 25 rules found"), "\(ourCheck.stdout)\(ourCheck.stderr)")
    }

    /// A wrong expectation fails in both tools: the runner can fail.
    @Test func aWrongExpectationFailsInBothTools() async throws {
        let directory = try TemporaryDirectory()
        let rules = try directory.write("r.yml", """
            groups:
              - name: g
                rules:
                  - alert: High
                    expr: x > 5
                    for: 2m
                    labels: {severity: warning}
                    annotations: {summary: "x is {{ $value }} on {{ $labels.instance }}"}
            """)
        _ = rules
        let test = try directory.write("t.yml", """
            rule_files: [r.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  - series: 'x{instance="i"}'
                    values: '1 7 7 7 7'
                alert_rule_test:
                  - eval_time: 2m
                    alertname: High
                    exp_alerts:
                      - exp_labels: {severity: warning, instance: i}
                        exp_annotations: {summary: "x is 7 on i"}
            """)
        let promtool = try await ChildProcess.run(try Tools.require("promtool"), ["test", "rules", test])
        let ours = try await ChildProcess.run(Tools.sharecast, ["rules", "test", test])
        #expect(promtool.status == 1 && ours.status == 1)
        #expect(ours.stdout.contains("alertname: High, time: 2m"))
        // At 3m it fires (pending from 1m, for 2m), in both.
        let fixed = try directory.write("t.yml", (try String(contentsOfFile: test, encoding: .utf8)).replacingOccurrences(of: "eval_time: 2m", with: "eval_time: 3m"))
        #expect(try await ChildProcess.run(try Tools.require("promtool"), ["test", "rules", fixed]).status == 0)
        #expect(try await ChildProcess.run(Tools.sharecast, ["rules", "test", fixed]).status == 0)
    }

    /// promtool's series notation, input and expected, case by case: both tools agree on which
    /// test files pass.
    @Test func theSeriesNotationReadsAsPromtoolReadsIt() async throws {
        let promtool = try Tools.require("promtool")
        let cases: [(series: String, values: String, expr: String, labels: String, value: String)] = [
            ("x{a=\"b\"}", "1 2 3", "sum(x)", "'{}'", "3"),
            ("x{a=\"b\"}", "1 2 3", "sum(x)", "''", "3"),
            ("x{a=\"b\"}", "1 2 3", "sum(x)", "'{ }'", "3"),
            ("x{a=\"b\"}", "1 2 3", "x", "'x{a=\"b\"}'", "3"),
            ("x{a=\"b\"}", "1 2 3", "x", "'{__name__=\"x\", a=\"b\"}'", "3"),
            ("x{a=\"b\"}", "1 2 3", "x", "'x{a=\"b\",}'", "3"),
            ("x{a=\"b\"}", "1 2 3", "x", "'x{a=\"c\"}'", "3"),
            ("{__name__=\"x\", a=\"b\"}", "1 2 3", "x", "'x{a=\"b\"}'", "3"),
            ("x{b=\"2\", a=\"1\"}", "5", "x", "'x{a=\"1\", b=\"2\"}'", "5"),
            ("job:x:rate{a=\"b\"}", "4", "job:x:rate", "'job:x:rate{a=\"b\"}'", "4"),
            ("x{a='b'}", "1", "x", "'x{a=\"b\"}'", "1"),
            ("x{a=\"q\\\"uote\"}", "1", "x", "'x{a=\"q\\\"uote\"}'", "1"),
            ("x", "1x3", "x", "'x'", "1"),
            ("x", "1+1x2 _x2 stale 5", "x", "'x'", "5"),
            ("x", "-1-1x3", "x", "'x'", "-3"),
            ("x", "1e3 2e3 3e3", "x", "'x'", "3000"),
            ("x", "_x0 7", "x", "'x'", "7"),
            ("x{a!=\"b\"}", "1", "x", "'x'", "1"),
            ("x", "1 2 3", "x", "'x{}'", "3"),
        ]
        let directory = try TemporaryDirectory()
        _ = try directory.write("empty.yml", "groups: []\n")
        var disagreements: [String] = []
        for (index, test) in cases.enumerated() {
            let file = try directory.write("t\(index).yml", """
                rule_files: [empty.yml]
                evaluation_interval: 1m
                tests:
                  - interval: 1m
                    input_series:
                      - series: '\(test.series.replacingOccurrences(of: "'", with: "''"))'
                        values: '\(test.values)'
                    promql_expr_test:
                      - expr: \(test.expr)
                        eval_time: 2m
                        exp_samples:
                          - labels: \(test.labels)
                            value: \(test.value)
                """)
            let theirs = try await ChildProcess.run(promtool, ["test", "rules", file])
            let ours = try await ChildProcess.run(Tools.sharecast, ["rules", "test", file])
            if theirs.status != ours.status {
                disagreements.append("case \(index) \(test): promtool \(theirs.status), sharecast \(ours.status): \(ours.stdout)\(ours.stderr)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
    }

    @Test func badRuleFilesAreReportedWithTheirPlace() throws {
        func problems(_ text: String) -> [String] {
            RuleFileLoader.parse(text, file: "bad.yml").1.map(\.description)
        }
        #expect(problems("groups:\n  - name: g\n    rules: [\n") == ["bad.yml:4:1: invalid YAML: did not find expected node content while parsing a flow node"])
        // A duplicate key names its own line, without the file's text.
        #expect(problems("groups:\n  - name: g\n    name: h\n    rules: []\n") == [#"bad.yml:3:5: duplicate key "name" (first at line 2)"#])
        // Bytes that are not UTF-8 are placed, not reported at 0:0.
        let directory = try TemporaryDirectory()
        let binary = directory.file("binary.yml")
        _ = FileManager.default.createFile(atPath: binary, contents: Data("groups:\n  - name: g\n    rules:\n      - record: x\n        expr: \"a".utf8) + Data([0xFF]) + Data("\"\n".utf8))
        #expect(throws: RuleLoadErrors.self) { try RuleFileLoader.load(paths: [binary]) }
        do {
            _ = try RuleFileLoader.load(paths: [binary])
        } catch {
            #expect(error.errors.map(\.description) == ["\(binary):5:17: not UTF-8 text: byte 0xFF"])
        }
        #expect(problems("""
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: rate(x[5m]
            """) == [#"bad.yml:5:15: group "g", rule "A": expr: column 11: expected ")", found end of expression"#])
        #expect(problems("""
            groups:
              - name: g
                rules:
                  - record: r
                    expr: holt_winters(x[5m], 0.1, 0.1)
            """) == [#"bad.yml:5:15: group "g", rule "r": expr: column 1: function "holt_winters" is not supported"#])
        #expect(problems("""
            groups:
              - name: g
                rules:
                  - record: r
                    expr: x
              - name: g
                rules:
                  - record: s
                    expr: y
            """) == [#"bad.yml:6:5: group "g": group name "g" is repeated in the same file"#])
        #expect(problems("""
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: sum(rate(x[5m:1m]))
            """) == [#"bad.yml:5:15: group "g", rule "A": expr: column 14: subqueries are not supported"#])
        #expect(problems("""
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: x
                    annotations: {summary: "{{ if $value }}x{{ end }}"}
            """) == [#"bad.yml:6:22: group "g", rule "A": annotation summary: template action "if" is not supported"#])
    }
}
