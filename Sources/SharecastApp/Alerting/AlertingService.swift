import Foundation
import Logging
import SharecastCore
import SharecastHTTP
import SharecastMetrics
import SharecastMonitor
import SharecastRules

/// Sharecast's own rule evaluation: the rule manager fed by the server's metrics, the
/// Alertmanager notifier, and the HTTP views of both (Prometheus' `/api/v1/rules` and
/// `/api/v1/alerts` shapes, the seed's `/api/monitor/alerts`).
final class AlertingService: Sendable {
    let manager: RuleManager
    let notifier: AlertmanagerNotifier
    let patterns: [String]
    let logger: Logger

    init(config: AlertingConfig, registry: MetricsRegistry, generatorURL: String, logger: Logger) {
        patterns = config.ruleFiles
        self.logger = logger
        let notifier = AlertmanagerNotifier(urls: config.alertmanagers, resendDelaySeconds: config.resendDelay,
                                            evaluationIntervalSeconds: config.evaluationInterval, capacity: config.queueCapacity,
                                            generatorURL: generatorURL, registry: registry, logger: logger)
        self.notifier = notifier
        manager = RuleManager(evaluationInterval: Int64(config.evaluationInterval) * 1000,
                              sampler: { registry.exposeText(.prometheus) },
                              onAlerts: { alerts in notifier.process(alerts, now: Int64(Date().timeIntervalSince1970 * 1000)) })
    }

    /// Loads the rule files; on failure the previous rules stay and the problems are returned.
    @discardableResult
    func reload() -> [String] {
        do {
            try manager.load(patterns: patterns)
            let snapshot = manager.snapshot
            logger.info("alert rules loaded", metadata: [
                "files": "\(snapshot.files.count)", "groups": "\(snapshot.groups.count)",
                "rules": "\(snapshot.groups.reduce(0) { $0 + $1.group.rules.count })",
            ])
            return []
        } catch {
            for problem in error.errors { logger.error("alert rules not loaded; the previous rules stay", metadata: ["problem": "\(problem)"]) }
            return error.errors.map(\.description)
        }
    }

    func start() {
        notifier.start()
        manager.start()
    }

    func stop() {
        manager.stop()
        notifier.stop()
    }

    /// Firing alerts in the seed's shape: level from the `severity` label.
    func monitorAlerts() -> [AlertView] {
        manager.snapshot.groups.map(\.report).flatMap(\.activeAlerts).filter { $0.alert.state == .firing }.map { _, alert in
            let level = AlertView.Level(rawValue: alert.labels["severity"] ?? "") ?? .warning
            return AlertView(level: level, type: alert.labels["alertname"] ?? "", message: alert.annotations["summary"] ?? alert.annotations["description"] ?? "",
                             stream: alert.labels["channel"], since: Date(timeIntervalSince1970: Double(alert.activeAt) / 1000))
        }.sorted { ($0.since, $0.type) < ($1.since, $1.type) }
    }

    // MARK: Prometheus API shapes

    static func time(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "0001-01-01T00:00:00Z" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// Prometheus prints alert values with strconv's 'e' format.
    static func value(_ v: Double) -> String { GoFormat.exponent(v) }

    static func alertJSON(_ alert: Alert) -> [String: Any] {
        ["labels": alert.labels, "annotations": alert.annotations, "state": alert.state.rawValue,
         "activeAt": time(alert.activeAt), "value": value(alert.value)]
    }

    func alertsResponse() -> HTTPResponse {
        let alerts = manager.snapshot.groups.map(\.report).flatMap(\.activeAlerts).map { Self.alertJSON($0.alert) }
        return Self.json(["status": "success", "data": ["alerts": alerts]])
    }

    func rulesResponse() -> HTTPResponse {
        let groups = manager.snapshot.groups.map(\.report).map { state -> [String: Any] in
            let rules = state.group.rules.enumerated().map { index, rule -> [String: Any] in
                var entry: [String: Any] = [
                    "name": rule.name, "query": rule.query.text, "labels": rule.labels,
                    "health": state.lastEvaluation == nil ? "unknown" : (state.lastErrors[index] == nil ? "ok" : "err"),
                    "evaluationTime": state.ruleDurations[index], "lastEvaluation": Self.time(state.lastEvaluation),
                ]
                if let error = state.lastErrors[index] { entry["lastError"] = error }
                switch rule.kind {
                case .record:
                    entry["type"] = "recording"
                case .alert:
                    let alerts = state.alerts[index].values.filter { $0.state != .inactive }
                    entry["type"] = "alerting"
                    entry["duration"] = Double(rule.holdDuration) / 1000
                    entry["keepFiringFor"] = Double(rule.keepFiringFor) / 1000
                    entry["annotations"] = rule.annotations
                    entry["alerts"] = alerts.map(Self.alertJSON)
                    entry["state"] = alerts.contains { $0.state == .firing } ? "firing" : alerts.isEmpty ? "inactive" : "pending"
                }
                return entry
            }
            return ["name": state.group.name, "file": state.group.file, "rules": rules,
                    "interval": Double(state.group.interval ?? manager.evaluationInterval) / 1000, "limit": 0,
                    "evaluationTime": state.lastDurationSeconds, "lastEvaluation": Self.time(state.lastEvaluation)]
        }
        return Self.json(["status": "success", "data": ["groups": groups]])
    }

    func reloadResponse() -> HTTPResponse {
        let problems = reload()
        if problems.isEmpty { return .text("rules reloaded\n") }
        return .error(status: 500, code: "reload_failed", message: "the previous rules stay: " + problems.joined(separator: "; "))
    }

    static func json(_ object: [String: Any]) -> HTTPResponse {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return .error(status: 500, code: "encoding_failed", message: "the response could not be encoded")
        }
        return HTTPResponse(headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(Array(data)))
    }
}
