import Foundation
import Logging
import SharecastMetrics
import SharecastRules
import SharecastUpstream
import Synchronization
import SharecastSync

/// Sends alerts to Alertmanager's v2 API as Prometheus does: firing alerts when they start and
/// again every `resend_delay` (with `endsAt` far enough ahead that Alertmanager keeps them), and
/// resolved ones once, with `endsAt` at their resolution. A bounded queue sits in front of the
/// network; when it is full the oldest notifications are dropped and counted. Failed posts are
/// retried with exponential back-off on the notifier's own thread.
final class AlertmanagerNotifier: Sendable {
    struct Notification: Sendable {
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: Date
        var endsAt: Date
    }

    struct SentState {
        var lastSent: Int64
        var resolvedSent: Bool
    }

    private let urls: [String]
    private let resendDelay: Int64
    private let evaluationInterval: Int64
    private let capacity: Int
    private let generatorURL: String
    private let logger: Logger
    private let queue = Locked<[Notification]>([])
    private let sent = Locked<[String: SentState]>([:])
    /// Sends while there is something queued, sleeps until `process` queues more.
    private let thread: ServiceThread
    let delivered: Counter
    let dropped: Counter
    let failures: Counter
    let queueLength: Gauge

    init(urls: [String], resendDelaySeconds: Int, evaluationIntervalSeconds: Int, capacity: Int, generatorURL: String,
         registry: MetricsRegistry, logger: Logger) {
        self.urls = urls.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        resendDelay = Int64(resendDelaySeconds) * 1000
        evaluationInterval = Int64(evaluationIntervalSeconds) * 1000
        self.capacity = capacity
        self.generatorURL = generatorURL
        self.logger = logger
        delivered = registry.counter("sharecast_notifications_sent", help: "Alerts delivered to Alertmanager.")
        dropped = registry.counter("sharecast_notifications_dropped", help: "Alert notifications dropped because the queue was full.")
        failures = registry.counter("sharecast_notifications_errors", help: "Failed posts to Alertmanager (each retried).")
        queueLength = registry.gauge("sharecast_notifications_queue_length", help: "Alert notifications waiting to be sent.")
        let box = WeakBox<AlertmanagerNotifier>()
        thread = ServiceThread(name: "sharecast-alertmanager") { thread in box.value?.sendLoop(thread) }
        box.value = self
    }

    /// Starts sending (nothing to do without an Alertmanager).
    func start() {
        guard !urls.isEmpty else { return }
        thread.start()
    }

    /// Called after each evaluation with every alert the rules hold (any state).
    func process(_ alerts: [Alert], now: Int64) {
        guard !urls.isEmpty else { return }
        var batch: [Notification] = []
        let validFor = 4 * max(resendDelay, evaluationInterval)
        sent.withLock { sent in
            var present = Set<String>()
            for alert in alerts {
                let key = alert.labels.signature()
                present.insert(key)
                switch alert.state {
                case .firing:
                    if let state = sent[key], !state.resolvedSent, now - state.lastSent < resendDelay { continue }
                    sent[key] = SentState(lastSent: now, resolvedSent: false)
                    batch.append(Notification(labels: alert.labels, annotations: alert.annotations, startsAt: date(alert.activeAt),
                                              endsAt: date(now + validFor)))
                case .inactive:
                    guard let resolvedAt = alert.resolvedAt, let state = sent[key], !state.resolvedSent else { continue }
                    sent[key] = SentState(lastSent: now, resolvedSent: true)
                    batch.append(Notification(labels: alert.labels, annotations: alert.annotations, startsAt: date(alert.activeAt),
                                              endsAt: date(resolvedAt)))
                case .pending:
                    continue
                }
            }
            for key in sent.keys where !present.contains(key) { sent[key] = nil }
        }
        guard !batch.isEmpty else { return }
        queue.withLock { queue in
            queue += batch
            if queue.count > capacity {
                let excess = queue.count - capacity
                queue.removeFirst(excess)
                dropped.add(UInt64(excess))
            }
            queueLength.set(Double(queue.count))
        }
        thread.wake()
    }

    private func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    func stop() {
        thread.stop()
    }

    private func sendLoop(_ thread: ServiceThread) {
        var backoff = 0.5
        while !thread.isStopping {
            let batch = queue.withLock { Array($0.prefix(64)) }
            guard !batch.isEmpty else {
                thread.wait(until: nil)
                continue
            }
            if post(batch) {
                queue.withLock { queue in
                    queue.removeFirst(min(batch.count, queue.count))
                    queueLength.set(Double(queue.count))
                }
                delivered.add(UInt64(batch.count))
                backoff = 0.5
            } else {
                failures.increment()
                // New notifications do not cut the back-off short: only the stop does.
                let deadline = ContinuousClock.now + .milliseconds(Int(backoff * 1000))
                while !thread.isStopping, ContinuousClock.now < deadline { thread.wait(until: deadline) }
                backoff = min(backoff * 2, 30)
            }
        }
    }

    /// Posts to every Alertmanager; true when at least one took the batch (Prometheus sends to
    /// all and counts a batch delivered when any accepts it).
    private func post(_ batch: [Notification]) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let payload = batch.map { notification -> [String: Any] in
            ["labels": notification.labels, "annotations": notification.annotations,
             "startsAt": formatter.string(from: notification.startsAt), "endsAt": formatter.string(from: notification.endsAt),
             "generatorURL": generatorURL]
        }
        guard let body = try? JSONSerialization.data(withJSONObject: payload) else { return false }
        var fetcher = HTTPFetcher()
        fetcher.timeoutSeconds = 10
        fetcher.connectTimeoutSeconds = 5
        var anyAccepted = false
        for url in urls {
            do {
                let response = try fetcher.send("POST", url + "/api/v2/alerts", body: Array(body))
                if (200..<300).contains(response.status) {
                    anyAccepted = true
                } else {
                    logger.warning("Alertmanager refused alerts", metadata: ["url": "\(url)", "status": "\(response.status)",
                                                                           "body": "\(String(decoding: response.body.prefix(200), as: UTF8.self))"])
                }
            } catch {
                logger.warning("Alertmanager unreachable; retrying", metadata: ["url": "\(url)", "error": "\(error)"])
            }
        }
        return anyAccepted
    }
}
