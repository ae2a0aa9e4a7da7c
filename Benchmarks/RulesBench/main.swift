import Foundation
import SharecastRules

// 100 rules over 10 000 series: the time of one evaluation round, as Sharecast's rule manager
// runs it (every group, in order, against the in-memory store), after 10 minutes of samples at
// a 15 s interval. Prints figures; never decides pass or fail.
//
// Diagnostics: PER_TEMPLATE=N first prints each rule shape's best time over N evaluations on its
// own (warm caches); ONLY=K keeps shape K (for profiling one shape).

let channels = 1000
let store = SampleStore()
let interval: Int64 = 15_000
let end: Int64 = 40 * interval
var series = 0
for channel in 0..<channels {
    let base: Labels = ["channel": "ch\(channel)", "instance": "tv:8085", "job": "sharecast"]
    func add(_ name: String, _ extra: Labels = [:], _ value: (Int64) -> Double) {
        var labels = base.merging(extra) { a, _ in a }
        labels["__name__"] = name
        for step in 0...40 { store.append(labels, Point(t: Int64(step) * interval, v: value(Int64(step)))) }
        series += 1
    }
    add("sharecast_stream_up") { _ in 1 }
    add("sharecast_stream_clients") { step in Double((channel + Int(step)) % 7) }
    add("sharecast_stream_sent_bytes_total") { step in Double(step) * 1_000_000 * Double(channel % 5 + 1) }
    add("sharecast_stream_upstream_received_bytes_total") { step in Double(step) * 1_000_000 }
    add("sharecast_stream_restarts_total") { step in Double(step / 10) }
    add("sharecast_stream_ts_continuity_errors_total") { step in Double(step / 3) }
    add("sharecast_stream_last_data_timestamp_seconds") { step in Double(step * 15) }
    add("sharecast_stream_buffer_fill_ratio") { step in Double(step % 10) / 10 }
    add("sharecast_stream_upstream_errors_total", ["reason": "connect"]) { step in Double(step / 20) }
    add("sharecast_stream_upstream_backup") { _ in 0 }
}

// The shipped rules, plus generated ones up to 100.
var rules = "groups:\n  - name: bench\n    rules:\n"
// Expressions like the shipped rules', over every channel, most of them quiet (as alerts are).
// 50 distinct bodies (10 shapes x 5 variants: their own range, or their own matcher %V), each
// used by a warning and a critical rule with their own threshold (%T), as real rule files pair
// them. Rules share metrics but no two are the same.
let templates = [
    "sum by (instance, job) (rate(sharecast_stream_sent_bytes_total[%Rm])) > 1e12 + %T",
    "rate(sharecast_stream_upstream_received_bytes_total[%Rm]) > 1e9 + %T",
    "increase(sharecast_stream_restarts_total[%Rm]) > 100 + %T",
    "sharecast_stream_clients{channel!=\"ch%V\"} > 1000 + %T and on(instance, job, channel) sharecast_stream_up == 1",
    "time() - sharecast_stream_last_data_timestamp_seconds{channel!=\"ch%V\"} > 10 + %T",
    "topk(%R, sharecast_stream_clients) > %T",
    "avg_over_time(sharecast_stream_buffer_fill_ratio[%Rm]) > 0.95 + %T",
    "sum by (instance) (sharecast_stream_clients{channel!=\"ch%V\"}) > %T",
    "increase(sharecast_stream_ts_continuity_errors_total[%Rm]) > 100 + %T",
    "max by (instance) (sharecast_stream_buffer_fill_ratio{channel!=\"ch%V\"}) > 0.5 + %T",
]
for index in 0..<100 {
    let shape = index % templates.count, variant = index / templates.count / 2, severity = index / templates.count % 2
    let expr = templates[shape].replacingOccurrences(of: "%R", with: "\(5 + variant)")
        .replacingOccurrences(of: "%V", with: "\(variant)").replacingOccurrences(of: "%T", with: "\(severity)")
    rules += "      - alert: Bench\(index)\n        expr: '\(expr)'\n        for: 1m\n"
}
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sharecast-rules-bench")
try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
let file = directory.appendingPathComponent("bench.yml")
try rules.write(to: file, atomically: true, encoding: .utf8)
let groups = try RuleFileLoader.load(paths: [file.path])
let states = groups.map(GroupState.init)

if let repeats = ProcessInfo.processInfo.environment["PER_TEMPLATE"].map({ Int($0) ?? 10 }) {
    let only = ProcessInfo.processInfo.environment["ONLY"].flatMap { Int($0) }
    for (number, template) in templates.enumerated() where only == nil || only == number {
        let expr = template.replacingOccurrences(of: "%R", with: "5").replacingOccurrences(of: "%V", with: "0").replacingOccurrences(of: "%T", with: "0")
        let query = try Query(expr)
        var best = Double.infinity
        for _ in 0..<repeats {
            let started = ContinuousClock.now
            _ = try Evaluator(source: store).evaluate(query, at: end)
            let elapsed = ContinuousClock.now - started
            best = min(best, Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        print(String(format: "%.3f ms  %@", best, expr))
    }
}
var rounds: [Double] = []
for round in 0..<30 {
    let started = ContinuousClock.now
    for state in states { state.evaluate(at: end + Int64(round) * 100, source: store, store: store) }
    let elapsed = ContinuousClock.now - started
    rounds.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
}
if ProcessInfo.processInfo.environment["ROUNDS"] != nil { print(rounds.map { String(format: "%.1f", $0) }.joined(separator: " ")) }
rounds.sort()
let alerts = states.flatMap(\.activeAlerts).count
print(String(format: "rules=100 series=%d round_ms_median=%.2f round_ms_min=%.2f round_ms_max=%.2f active_alerts=%d (target <= 10 ms)",
             store.seriesCount, rounds[rounds.count / 2], rounds[0], rounds[rounds.count - 1], alerts))
