import Foundation
import SharecastRules

// 100 rules over 10 000 series: the time of one evaluation round, as Sharecast's rule manager
// runs it (every group, in order, against the in-memory store), after 10 minutes of samples at
// a 15 s interval. Between rounds, as in the server, every series gets its next sample and the
// store is trimmed (not timed). The first round (which matches labels and works out groupings
// for later rounds) is reported apart. A fixed reference workload (a 64 MB sum and a 200 000-key
// dictionary) is timed in the same run, so figures from a busy moment of a shared machine can be
// told apart from a slower evaluator. Prints figures; never decides pass or fail.
//
// Diagnostics: PER_TEMPLATE=N first prints each rule shape's best time over N evaluations on its
// own (warm caches); ONLY=K keeps shape K (for profiling one shape); ROUNDS=1 prints every round.

let channels = 1000
let store = SampleStore()
let interval: Int64 = 15_000
let end: Int64 = 40 * interval
var generators: [(labels: Labels, value: (Int64) -> Double)] = []
for channel in 0..<channels {
    let base: Labels = ["channel": "ch\(channel)", "instance": "tv:8085", "job": "sharecast"]
    func add(_ name: String, _ extra: Labels = [:], _ value: @escaping (Int64) -> Double) {
        var labels = base.merging(extra) { a, _ in a }
        labels["__name__"] = name
        generators.append((labels, value))
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
@MainActor func sample(step: Int64) {
    for (labels, value) in generators { store.append(labels, Point(t: step * interval, v: value(step))) }
}
for step in Int64(0)...40 { sample(step: step) }

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
func milliseconds(_ elapsed: Duration) -> Double {
    Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}
let retention = groups.flatMap(\.rules).map(\.query.longestRange).max() ?? 0
var rounds: [Double] = []
var firstRound = 0.0
for round in 0...60 {
    let step = 40 + Int64(round)
    if round > 0 {
        sample(step: step)
        store.trim(before: step * interval - retention)
    }
    let started = ContinuousClock.now
    for state in states { state.evaluate(at: step * interval, source: store, store: store) }
    let elapsed = milliseconds(ContinuousClock.now - started)
    if round == 0 { firstRound = elapsed } else { rounds.append(elapsed) }
}
if ProcessInfo.processInfo.environment["ROUNDS"] != nil { print(rounds.map { String(format: "%.1f", $0) }.joined(separator: " ")) }
rounds.sort()

// The reference: the same fixed work every run, memory-bound and hashing, like the evaluator's.
var reference = Double.infinity
let column = [Double](repeating: 1.5, count: 8 << 20)
for _ in 0..<3 {
    let started = ContinuousClock.now
    var total = 0.0
    for value in column { total += value }
    var table: [Int: Int] = [:]
    for key in 0..<200_000 { table[key &* 2_654_435_761, default: 0] += Int(total) & 1 }
    reference = min(reference, milliseconds(ContinuousClock.now - started) + (table.isEmpty ? 1 : 0))
}
let median = rounds[rounds.count / 2], p90 = rounds[rounds.count * 9 / 10]
let alerts = states.flatMap(\.activeAlerts).count
print(String(format: "rules=100 series=%d rounds=%d round_ms_median=%.2f round_ms_p90=%.2f round_ms_min=%.2f first_round_ms=%.2f reference_ms=%.2f median_over_reference=%.2f active_alerts=%d (target <= 10 ms)",
             store.seriesCount, rounds.count, median, p90, rounds[0], firstRound, reference, median / reference, alerts))
