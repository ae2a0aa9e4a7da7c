import Synchronization
import SharecastSync

/// One alert of an alerting rule: a label set the rule's expression returned.
public struct Alert: Sendable, Equatable {
    public enum State: String, Sendable { case inactive, pending, firing }

    public var labels: Labels
    public var annotations: [String: String]
    public var state: State
    public var value: Double
    /// Milliseconds since the epoch.
    public var activeAt: Int64
    public var firedAt: Int64?
    public var resolvedAt: Int64?
    var keepFiringSince: Int64?
}

/// What one group's last evaluation left, as an immutable value for readers on other threads
/// (`/api/v1/rules`, `/api/v1/alerts`, `/api/monitor/alerts`, the notifier).
public struct GroupReport: Sendable {
    public let group: RuleGroup
    /// Per rule (by index), alerts by label signature.
    public let alerts: [[String: Alert]]
    public let lastErrors: [String?]
    public let lastEvaluation: Int64?
    public let lastDurationSeconds: Double
    public let ruleDurations: [Double]

    /// Alerts of all rules that are pending or firing.
    public var activeAlerts: [(rule: Rule, alert: Alert)] {
        group.rules.indices.flatMap { index in
            alerts[index].values.filter { $0.state != .inactive }.map { (group.rules[index], $0) }
        }
    }
}

/// The state of one group's rules across evaluations: each alerting rule's active alerts, and
/// the last error or duration of each rule.
///
/// `@unchecked Sendable`: the mutable fields belong to the one thread that evaluates the group
/// (the rule manager's, or a test runner's), one round at a time. Other threads read `report`,
/// an immutable value published under a lock at the end of each round: they never see a round
/// half done (reading the fields while the rules thread wrote them was a data race).
public final class GroupState: @unchecked Sendable {
    public let group: RuleGroup
    /// Per rule (by index), alerts by label signature.
    var alerts: [[String: Alert]]
    var lastErrors: [String?]
    var lastEvaluation: Int64?
    var lastDurationSeconds = 0.0
    var ruleDurations: [Double]
    private let published: Locked<GroupReport>
    /// The series each rule wrote at its last evaluation: those it does not write again get a
    /// staleness marker, as Prometheus writes them, so they vanish from instant queries at once.
    var written: [[String: Labels]]
    /// Groupings worked out in earlier rounds (see `PlanCache`).
    let plans = PlanCache()
    /// Per rule, the `ALERTS` and `ALERTS_FOR_STATE` label sets (with their signatures) of each
    /// active alert, made when the alert changes state rather than every round.
    var alertSeries: [[String: AlertSeries]]

    struct AlertSeries {
        var state: Alert.State
        var alerts: (labels: Labels, signature: String)
        var forState: (labels: Labels, signature: String)

        init(_ alert: Alert) {
            state = alert.state
            var labels = alert.labels
            labels["__name__"] = "ALERTS"
            labels["alertstate"] = alert.state.rawValue
            alerts = (labels, labels.signature())
            var forStateLabels = alert.labels
            forStateLabels["__name__"] = "ALERTS_FOR_STATE"
            forState = (forStateLabels, forStateLabels.signature())
        }
    }

    /// Resolved alerts are kept (and sent as resolved) for this long.
    static let resolvedRetention: Int64 = 15 * 60_000

    public init(group: RuleGroup) {
        self.group = group
        alerts = Array(repeating: [:], count: group.rules.count)
        lastErrors = Array(repeating: nil, count: group.rules.count)
        ruleDurations = Array(repeating: 0, count: group.rules.count)
        written = Array(repeating: [:], count: group.rules.count)
        alertSeries = Array(repeating: [:], count: group.rules.count)
        published = Locked(GroupReport(group: group, alerts: alerts, lastErrors: lastErrors, lastEvaluation: nil,
                                      lastDurationSeconds: 0, ruleDurations: ruleDurations))
    }

    /// The last published round; safe from any thread.
    public var report: GroupReport { published.withLock { $0 } }

    private func publish() {
        let report = GroupReport(group: group, alerts: alerts, lastErrors: lastErrors, lastEvaluation: lastEvaluation,
                                 lastDurationSeconds: lastDurationSeconds, ruleDurations: ruleDurations)
        published.withLock { $0 = report }
    }

    /// Carries alert state over from the same rule (same name, expression and labels) of a
    /// previous load, so a reload does not restart `for:` timers.
    ///
    /// Called before this state is evaluated (on the reloading thread); it reads the previous
    /// state's published round, since the rules thread may be evaluating it right now.
    public func inherit(from previous: GroupState) {
        let before = previous.report
        for (index, rule) in group.rules.enumerated() {
            if let match = before.group.rules.firstIndex(where: { $0.name == rule.name && $0.query.text == rule.query.text && $0.labels == rule.labels }) {
                alerts[index] = before.alerts[match]
            }
        }
        publish()
    }

    /// Evaluates every rule at `time`; recording results and `ALERTS` go into `store`, which the
    /// following rules of the group already see.
    public func evaluate(at time: Int64, source: any SeriesSource, store: SampleStore, externalLabels: Labels = [:]) {
        let started = ContinuousClock.now
        let cache = SelectorCache()
        let evaluator = Evaluator(source: source, cache: cache, plans: plans)
        for (index, rule) in group.rules.enumerated() {
            let ruleStarted = ContinuousClock.now
            var output: [String: Labels] = [:]
            var writtenNames = Set<String>()
            func write(_ labels: Labels, _ value: Double, signature: String? = nil) {
                let signature = signature ?? labels.signature()
                output[signature] = labels
                store.append(labels, signature: signature, Point(t: time, v: value))
                writtenNames.insert(labels["__name__"] ?? "")
            }
            defer {
                for (key, labels) in written[index] where output[key] == nil {
                    store.append(labels, Point(t: time, v: StaleMarker.value))
                    writtenNames.insert(labels["__name__"] ?? "")
                }
                written[index] = output
                for name in writtenNames { cache.invalidate(name) }
            }
            do {
                let samples: [Sample]
                switch try evaluator.evaluate(rule.query, at: time) {
                case let .vector(found): samples = found
                case let .scalar(value): samples = [Sample(labels: [:], value: value)]
                default: throw PromQLError("the expression must give a vector or a scalar")
                }
                switch rule.kind {
                case let .record(name):
                    var seen = Set<String>()
                    for sample in samples {
                        var labels = sample.labels
                        labels["__name__"] = name
                        for (key, value) in rule.labels { labels[key] = value }
                        guard seen.insert(labels.signature()).inserted else {
                            throw PromQLError("vector contains metrics with the same labelset after applying rule labels")
                        }
                        write(labels, sample.value)
                    }
                case let .alert(name):
                    try evaluateAlert(index, name, rule, samples, time, externalLabels)
                    for (key, alert) in alerts[index] where alert.state != .inactive {
                        if alertSeries[index][key]?.state != alert.state { alertSeries[index][key] = AlertSeries(alert) }
                        guard let series = alertSeries[index][key] else { continue }
                        write(series.alerts.labels, 1, signature: series.alerts.signature)
                        write(series.forState.labels, Double(alert.activeAt) / 1000, signature: series.forState.signature)
                    }
                    if alertSeries[index].count > alerts[index].count {
                        alertSeries[index] = alertSeries[index].filter { alerts[index][$0.key] != nil }
                    }
                }
                lastErrors[index] = nil
            } catch {
                lastErrors[index] = "\(error)"
            }
            ruleDurations[index] = (ContinuousClock.now - ruleStarted).secondsValue
        }
        lastEvaluation = time
        lastDurationSeconds = (ContinuousClock.now - started).secondsValue
        publish()
    }

    func evaluateAlert(_ index: Int, _ name: String, _ rule: Rule, _ samples: [Sample], _ time: Int64, _ externalLabels: Labels) throws(PromQLError) {
        var present = Set<String>()
        for sample in samples {
            let base = sample.labels.droppingName
            var labels = base
            for (key, template) in rule.labelTemplates {
                labels[key] = template.expand(labels: base, value: sample.value, externalLabels: externalLabels)
            }
            labels["alertname"] = name
            let annotations = rule.annotationTemplates.mapValues { $0.expand(labels: base, value: sample.value, externalLabels: externalLabels) }
            let key = labels.signature()
            guard present.insert(key).inserted else {
                throw PromQLError("vector contains metrics with the same labelset after applying alert labels")
            }
            if var existing = alerts[index][key], existing.state != .inactive {
                existing.value = sample.value
                existing.annotations = annotations
                existing.keepFiringSince = nil
                alerts[index][key] = existing
                continue
            }
            alerts[index][key] = Alert(labels: labels, annotations: annotations, state: .pending, value: sample.value, activeAt: time)
        }
        for key in Array(alerts[index].keys) {
            guard var alert = alerts[index][key] else { continue }
            if !present.contains(key) {
                var keepFiring = false
                if alert.state == .firing, rule.keepFiringFor > 0 {
                    if alert.keepFiringSince == nil { alert.keepFiringSince = time }
                    if let since = alert.keepFiringSince, time - since < rule.keepFiringFor { keepFiring = true }
                }
                if alert.state == .pending || (alert.resolvedAt.map { time - $0 > Self.resolvedRetention } ?? false) {
                    alerts[index][key] = nil
                    continue
                }
                if alert.state != .inactive, !keepFiring {
                    alert.state = .inactive
                    alert.resolvedAt = time
                }
                alerts[index][key] = alert
                if !keepFiring { continue }
            }
            if alert.state == .pending, time - alert.activeAt >= rule.holdDuration {
                alert.state = .firing
                alert.firedAt = time
            }
            alerts[index][key] = alert
        }
    }

    /// Alerts of all rules that are pending or firing, as of the last published round.
    public var activeAlerts: [(rule: Rule, alert: Alert)] { report.activeAlerts }
}

extension Duration {
    var secondsValue: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
