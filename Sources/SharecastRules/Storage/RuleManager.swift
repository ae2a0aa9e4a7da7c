import Foundation
import Synchronization
import SharecastSync

/// Evaluates loaded rule groups on a timer against Sharecast's own metrics, kept in an in-memory
/// store as long as the longest range in the rules needs.
///
/// Each tick takes a sample of every metric (through `sampler`, the same text a scrape returns),
/// appends it to the store at the tick's time, evaluates the groups that are due, and hands the
/// alerts to `onAlerts` (the Alertmanager notifier). A reload swaps in new groups only when every
/// file loads, carrying alert state over, so a bad edit never loses the running rules.
public final class RuleManager: Sendable {
    public struct Snapshot: Sendable {
        public var groups: [GroupState]
        public var files: [String]
    }

    public let store = SampleStore()
    public let evaluationInterval: Int64
    private let sampler: @Sendable () -> String
    private let onAlerts: @Sendable ([Alert]) -> Void
    private let externalLabels: Labels
    private let state = Locked(Snapshot(groups: [], files: []))
    /// Sleeps until the next evaluation is due.
    private let thread: ServiceThread
    private let clock: @Sendable () -> Int64
    /// Series of the previous sample: those missing from the next get a staleness marker, as a
    /// Prometheus scrape marks series that vanished.
    private let sampled = Locked<[String: Labels]>([:])

    public init(evaluationInterval: Int64, externalLabels: Labels = [:], sampler: @escaping @Sendable () -> String,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
                onAlerts: @escaping @Sendable ([Alert]) -> Void = { _ in }) {
        self.evaluationInterval = evaluationInterval
        self.externalLabels = externalLabels
        self.sampler = sampler
        self.clock = clock
        self.onAlerts = onAlerts
        let box = WeakBox<RuleManager>()
        thread = ServiceThread(name: "sharecast-rules") { thread in box.value?.loop(thread) }
        box.value = self
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Loads `patterns` (globs allowed); on any error the running groups stay and the errors are thrown.
    public func load(patterns: [String]) throws(RuleLoadErrors) {
        let files = patterns.flatMap(Glob.expand).filter { FileManager.default.fileExists(atPath: $0) }
        let groups = try RuleFileLoader.load(paths: files)
        let fresh = groups.map(GroupState.init)
        state.withLock { current in
            for group in fresh {
                if let previous = current.groups.first(where: { $0.group.name == group.group.name && $0.group.file == group.group.file }) {
                    group.inherit(from: previous)
                }
            }
            current = Snapshot(groups: fresh, files: files)
        }
    }

    public func start() {
        thread.start()
    }

    public func stop() {
        thread.stop()
    }

    private func loop(_ thread: ServiceThread) {
        var next = clock()
        while !thread.isStopping {
            let now = clock()
            if now >= next {
                tick(at: now)
                next = now + evaluationInterval
            }
            // The clock may be a test's; the wait is in real time for the same number of milliseconds.
            thread.wait(until: .now + .milliseconds(max(next - clock(), 1)))
        }
    }

    /// One round: sample, evaluate, notify. Public so tests and the benchmark can drive it.
    public func tick(at time: Int64) {
        var seen: [String: Labels] = [:]
        for (labels, value) in TextSampleParser.samples(sampler()) {
            store.append(labels, Point(t: time, v: value))
            seen[labels.signature()] = labels
        }
        let gone = sampled.withLock { previous in
            defer { previous = seen }
            return previous.filter { seen[$0.key] == nil }.map(\.value)
        }
        for labels in gone { store.append(labels, Point(t: time, v: StaleMarker.value)) }
        let groups = state.withLock { $0.groups }
        for group in groups {
            group.evaluate(at: time, source: store, store: store, externalLabels: externalLabels)
        }
        let longest = groups.flatMap(\.group.rules).map(\.query.longestRange).max() ?? 300_000
        store.trim(before: time - max(longest, 300_000) - evaluationInterval)
        onAlerts(groups.flatMap { $0.alerts.flatMap(\.values) })
    }
}
