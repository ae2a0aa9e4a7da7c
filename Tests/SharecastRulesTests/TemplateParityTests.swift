import Foundation
import Testing
@testable import SharecastRules

/// Annotation templates and alert state expanded by Sharecast, checked by promtool: Sharecast's
/// alerts are written as the expectations of an `alert_rule_test`, which promtool must pass.
@Suite struct TemplateParityTests {
    static let values: [Double] = [0, 0.1, 0.000123, 3, 42.5, 999.9, 1234, 123456, 1_234_567, 9.87e9, 2.5e21, 1e-7, 86_399, 90_061.5, 0.75, -3.5]

    @Test func promtoolExpandsTemplatesAsSharecastDoes() throws {
        let promtool = try #require(PromQLDifferentialTests.which("promtool"), "promtool is not installed; run `make deps`")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sharecast-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let annotations: [String: String] = [
            "plain": "{{ $value }}",
            "humanize": "{{ $value | humanize }}",
            "binary": "{{ humanize1024 $value }}",
            "duration": "{{ $value | humanizeDuration }}",
            "percent": "{{ humanizePercentage $value }}",
            "fixed": #"{{ printf "%.2f" $value }}"#,
            "mixed": #"{{ printf "%s=%v" $labels.instance $value }} on {{ $labels.instance | toUpper }}"#,
        ]
        var rules = "groups:\n  - name: t\n    rules:\n      - alert: T\n        expr: x\n        for: 1m\n        keep_firing_for: 2m\n        labels: {severity: info}\n        annotations:\n"
        for (key, template) in annotations.sorted(by: { $0.key < $1.key }) {
            rules += "          \(key): '\(template.replacingOccurrences(of: "'", with: "''"))'\n"
        }
        try rules.write(to: directory.appendingPathComponent("rules.yml"), atomically: true, encoding: .utf8)

        // Each series present for three minutes, then gone: pending, firing, then kept firing
        // by keep_firing_for, then resolved.
        let store = SampleStore()
        var series = ""
        for (index, value) in Self.values.enumerated() {
            let text = #"x{instance="i\#(index)"}"#
            series += "      - series: '\(text)'\n        values: '\(value) \(value) \(value) \(value) stale _ _ _ _ _'\n"
            for step in 0..<4 { store.append(try SeriesNotation.labels(text), Point(t: Int64(step) * 60_000, v: value)) }
            store.append(try SeriesNotation.labels(text), Point(t: 240_000, v: StaleMarker.value))
        }
        let group = try #require(RuleFileLoader.load(paths: [directory.appendingPathComponent("rules.yml").path]).first)
        let state = GroupState(group: group)
        var test = "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n" + series + "    alert_rule_test:\n"
        for minute in 0...7 {
            state.evaluate(at: Int64(minute) * 60_000, source: store, store: store)
            let firing = state.activeAlerts.filter { $0.alert.state == .firing }.map(\.alert).sorted { $0.labels["instance"] ?? "" < $1.labels["instance"] ?? "" }
            test += "      - eval_time: \(minute)m\n        alertname: T\n"
            if firing.isEmpty {
                test += "        exp_alerts: []\n"
                continue
            }
            test += "        exp_alerts:\n"
            for alert in firing {
                test += "          - exp_labels: {severity: info, instance: \(alert.labels["instance"] ?? "")}\n            exp_annotations:\n"
                for (key, value) in alert.annotations.sorted(by: { $0.key < $1.key }) {
                    test += "              \(key): '\(value.replacingOccurrences(of: "'", with: "''"))'\n"
                }
            }
        }
        // Firing from 1m; still firing at 4m and 5m (kept), resolved from 6m.
        #expect(test.contains("eval_time: 5m\n        alertname: T\n        exp_alerts:\n"))
        #expect(test.contains("eval_time: 6m\n        alertname: T\n        exp_alerts: []"))
        let file = directory.appendingPathComponent("test.yml")
        try test.write(to: file, atomically: true, encoding: .utf8)
        let (status, output) = try PromQLDifferentialTests.run(promtool, ["test", "rules", file.path])
        #expect(status == 0, "\(output.prefix(5000))")
        #expect(RuleTestRunner.run(file: file.path).passed)
    }

    @Test func alertStateSurvivesAReload() throws {
        let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x > 1\n        for: 2m\n"
        let first = try #require(RuleFileLoader.parse(text, file: "r.yml").0.first)
        let store = SampleStore()
        for step in 0...5 { store.append(["__name__": "x"], Point(t: Int64(step) * 60_000, v: 5)) }
        let before = GroupState(group: first)
        before.evaluate(at: 60_000, source: store, store: store)
        let reloaded = GroupState(group: try #require(RuleFileLoader.parse(text + "      - record: y\n        expr: x\n", file: "r.yml").0.first))
        reloaded.inherit(from: before)
        reloaded.evaluate(at: 180_000, source: store, store: store)
        let alert = try #require(reloaded.activeAlerts.first?.alert)
        #expect(alert.activeAt == 60_000)
        #expect(alert.state == .firing)
    }
}
