import Foundation
import Yams

/// Runs promtool-format rule unit tests (`rule_files`, `input_series` in the `a+bxN` notation,
/// `alert_rule_test`, `promql_expr_test`) through Sharecast's own evaluator, with promtool's
/// schedule: every group at every `evaluation_interval` from 0 to the latest eval time, alerts
/// compared with the evaluation at or just before their eval time, expressions at the end.
public enum RuleTestRunner {
    struct TestFile: Decodable {
        var ruleFiles: [String]?
        var evaluationInterval: String?
        var groupEvalOrder: [String]?
        var tests: [TestGroup]?

        enum CodingKeys: String, CodingKey {
            case ruleFiles = "rule_files", evaluationInterval = "evaluation_interval", tests, groupEvalOrder = "group_eval_order"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            ruleFiles = try container.decodeIfPresent([String].self, forKey: .ruleFiles)
            evaluationInterval = try container.decodeIfPresent(String.self, forKey: .evaluationInterval)
            groupEvalOrder = try container.decodeIfPresent([String].self, forKey: .groupEvalOrder)
            tests = try container.decodeIfPresent([TestGroup].self, forKey: .tests)
        }
    }

    struct TestGroup: Decodable {
        var interval: String?
        var name: String?
        var inputSeries: [InputSeries]?
        var alertRuleTest: [AlertTest]?
        var promqlExprTest: [ExprTest]?
        var externalLabels: [String: String]?

        enum CodingKeys: String, CodingKey {
            case interval, name, inputSeries = "input_series", alertRuleTest = "alert_rule_test", promqlExprTest = "promql_expr_test"
            case externalLabels = "external_labels"
        }
    }

    struct InputSeries: Decodable {
        var series: String
        var values: String
    }

    struct AlertTest: Decodable {
        var evalTime: String
        var alertname: String
        var expAlerts: [ExpectedAlert]?

        enum CodingKeys: String, CodingKey { case evalTime = "eval_time", alertname, expAlerts = "exp_alerts" }
    }

    struct ExpectedAlert: Decodable {
        var expLabels: [String: String]?
        var expAnnotations: [String: String]?

        enum CodingKeys: String, CodingKey { case expLabels = "exp_labels", expAnnotations = "exp_annotations" }
    }

    struct ExprTest: Decodable {
        var expr: String
        var evalTime: String
        var expSamples: [ExpectedSample]?

        enum CodingKeys: String, CodingKey { case expr, evalTime = "eval_time", expSamples = "exp_samples" }
    }

    struct ExpectedSample: Decodable {
        var labels: String
        var value: Double
    }

    /// What a run found: a line per failure, and whether the file passed.
    public struct Outcome: Sendable {
        public var file: String
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }

        /// promtool-like text: `Unit Testing:  FILE` then `  SUCCESS` or `  FAILED:` and the details.
        public var report: String {
            "Unit Testing:  \(file)\n" + (passed ? "  SUCCESS\n" : "  FAILED:\n" + failures.map { "    " + $0.replacingOccurrences(of: "\n", with: "\n    ") + "\n" }.joined())
        }
    }

    public static func run(file: String) -> Outcome {
        var failures: [String] = []
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            return Outcome(file: file, failures: ["cannot read \(file): \(error.localizedDescription)"])
        }
        let testFile: TestFile
        do {
            testFile = try YAMLDecoder().decode(TestFile.self, from: text)
        } catch {
            return Outcome(file: file, failures: ["\(file): \(error)"])
        }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        let ruleFiles = (testFile.ruleFiles ?? []).flatMap { pattern -> [String] in
            let path = pattern.hasPrefix("/") ? pattern : directory.appendingPathComponent(pattern).path
            return Glob.expand(path)
        }
        var groups: [RuleGroup]
        do {
            groups = try RuleFileLoader.load(paths: ruleFiles)
        } catch {
            return Outcome(file: file, failures: error.errors.map(\.description))
        }
        // group_eval_order first, in its order; the rest after, in file order.
        if let order = testFile.groupEvalOrder {
            for name in order where !groups.contains(where: { $0.name == name }) {
                return Outcome(file: file, failures: ["group_eval_order names \"\(name)\", which no rule file defines"])
            }
            groups = groups.enumerated().sorted { a, b in
                let x = order.firstIndex(of: a.element.name) ?? order.count + a.offset
                let y = order.firstIndex(of: b.element.name) ?? order.count + b.offset
                return x < y
            }.map(\.element)
        }
        guard let evalInterval = duration(testFile.evaluationInterval ?? "1m") else {
            return Outcome(file: file, failures: ["evaluation_interval is not a duration"])
        }
        for (index, test) in (testFile.tests ?? []).enumerated() {
            failures += runGroup(test, index: index, groups: groups, evalInterval: evalInterval)
        }
        return Outcome(file: file, failures: failures)
    }

    static func duration(_ text: String) -> Int64? {
        Lexer.parseDuration(text) ?? (text == "0" ? 0 : nil)
    }

    static func runGroup(_ test: TestGroup, index: Int, groups: [RuleGroup], evalInterval: Int64) -> [String] {
        var failures: [String] = []
        let name = test.name.map { "test \"\($0)\"" } ?? "test \(index + 1)"
        guard let interval = duration(test.interval ?? "1m"), interval > 0 else { return ["\(name): interval is not a duration"] }
        let store = SampleStore()
        for input in test.inputSeries ?? [] {
            do {
                let labels = try SeriesNotation.labels(input.series)
                for (step, value) in try SeriesNotation.values(input.values).enumerated() {
                    if let value { store.append(labels, Point(t: Int64(step) * interval, v: value)) }
                }
            } catch {
                failures.append("\(name): input series \"\(input.series)\": \(error.description)")
            }
        }
        var alertTests: [(time: Int64, test: AlertTest)] = []
        for test in test.alertRuleTest ?? [] {
            guard let time = duration(test.evalTime) else { failures.append("\(name): bad eval_time \"\(test.evalTime)\""); continue }
            alertTests.append((time, test))
        }
        var exprTests: [(time: Int64, test: ExprTest)] = []
        for test in test.promqlExprTest ?? [] {
            guard let time = duration(test.evalTime) else { failures.append("\(name): bad eval_time \"\(test.evalTime)\""); continue }
            exprTests.append((time, test))
        }
        let maxTime = (alertTests.map(\.time) + exprTests.map(\.time)).max() ?? 0
        let states = groups.map(GroupState.init)
        let external = test.externalLabels ?? [:]
        alertTests.sort { $0.time < $1.time }
        var next = 0
        var time: Int64 = 0
        while time <= maxTime {
            for state in states { state.evaluate(at: time, source: store, store: store, externalLabels: external) }
            while next < alertTests.count, alertTests[next].time >= time, alertTests[next].time < time + evalInterval {
                let (evalTime, alertTest) = alertTests[next]
                next += 1
                var got: [(Labels, [String: String])] = []
                for state in states {
                    for (rule, alert) in state.activeAlerts where rule.name == alertTest.alertname && alert.state == .firing {
                        got.append((alert.labels, alert.annotations))
                    }
                }
                let expected = (alertTest.expAlerts ?? []).map { alert -> (Labels, [String: String]) in
                    var labels = alert.expLabels ?? [:]
                    labels["alertname"] = alertTest.alertname
                    return (labels, alert.expAnnotations ?? [:])
                }
                let gotText = describe(got), expectedText = describe(expected)
                if gotText != expectedText {
                    failures.append("alertname: \(alertTest.alertname), time: \(formatTime(evalTime)), \n    exp:\(expectedText), \n    got:\(gotText)")
                }
            }
            time += evalInterval
        }
        let evaluator = Evaluator(source: store)
        for (evalTime, exprTest) in exprTests {
            do {
                var got: [Sample]
                switch try evaluator.evaluate(try Query(exprTest.expr), at: evalTime) {
                case let .vector(samples): got = samples
                case let .scalar(value): got = [Sample(labels: [:], value: value)]
                default: throw PromQLError("the expression must give a vector or a scalar")
                }
                var expected: [Sample] = []
                for sample in exprTest.expSamples ?? [] {
                    expected.append(Sample(labels: try SeriesNotation.labels(sample.labels.isEmpty ? "{}" : sample.labels), value: sample.value))
                }
                got.sort { $0.labels.promString < $1.labels.promString }
                expected.sort { $0.labels.promString < $1.labels.promString }
                let same = got.count == expected.count && zip(got, expected).allSatisfy {
                    $0.labels == $1.labels && ($0.value == $1.value || ($0.value.isNaN && $1.value.isNaN))
                }
                if !same {
                    failures.append("expr: \"\(exprTest.expr)\", time: \(formatTime(evalTime)),\n    exp: \(samplesText(expected))\n    got: \(samplesText(got))")
                }
            } catch {
                failures.append("expr: \"\(exprTest.expr)\", time: \(formatTime(evalTime)), err: \(error)")
            }
        }
        return failures
    }

    static func describe(_ alerts: [(Labels, [String: String])]) -> String {
        let items = alerts.map { labels, annotations in
            "\n        0:\n          Labels:\(labels.promString.dropFirst(labels["__name__"]?.count ?? 0))\n          Annotations:\(annotations.map { [$0.key: $0.value] }.reduce(into: Labels()) { $0.merge($1) { a, _ in a } }.promString)"
        }
        return "[" + items.sorted().joined() + "]"
    }

    static func samplesText(_ samples: [Sample]) -> String {
        samples.map { "\($0.labels.promString) \($0.value)" }.joined(separator: ", ")
    }

    static func formatTime(_ milliseconds: Int64) -> String {
        var seconds = milliseconds / 1000
        var out = ""
        if seconds >= 3600 { out += "\(seconds / 3600)h"; seconds %= 3600 }
        if seconds >= 60 { out += "\(seconds / 60)m"; seconds %= 60 }
        if seconds > 0 || out.isEmpty { out += "\(seconds)s" }
        return out
    }
}

/// `*` in the last path component, as rule_files patterns use it.
enum Glob {
    static func expand(_ path: String) -> [String] {
        guard path.contains("*") else { return [path] }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path, pattern = url.lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        return names.filter { name in
            guard name.hasPrefix(parts[0]), name.hasSuffix(parts[parts.count - 1]) else { return false }
            var rest = Substring(name.dropFirst(parts[0].count))
            for part in parts.dropFirst().dropLast() {
                guard let range = rest.range(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
            return rest.count >= parts[parts.count - 1].count
        }.sorted().map { "\(directory)/\($0)" }
    }
}
