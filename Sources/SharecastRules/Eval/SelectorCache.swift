import Synchronization
import SharecastSync

/// Selector results shared by the rules of one evaluation round: every rule of a group is
/// evaluated at the same instant against the same store, so `sharecast_stream_clients` read by
/// five rules is read once. A write to a metric (a recording rule's output, `ALERTS`) drops the
/// cached results for that metric name, so later rules see what earlier ones wrote, as in
/// Prometheus.
final class SelectorCache: Sendable {
    struct Entries {
        var vectors: [String: [Sample]] = [:]
        var matrices: [String: [Series]] = [:]
        /// Results of function calls and aggregations (warning/critical pairs share them).
        var values: [String: QueryValue] = [:]
        /// Keys by metric name ("" for selectors without one), for invalidation.
        var byName: [String: [String]] = [:]
    }

    private let entries = Locked(Entries())

    static func key(_ selector: VectorSelector, range: Int64?, at time: Int64) -> String {
        var key = (selector.name ?? "") + "\u{1}"
        for matcher in selector.matchers.sorted(by: { ($0.name, $0.kind.rawValue, $0.value) < ($1.name, $1.kind.rawValue, $1.value) }) {
            key += matcher.name + matcher.kind.rawValue + matcher.value + "\u{2}"
        }
        return key + "\u{1}\(selector.offset)\u{1}\(range ?? -1)\u{1}\(time)"
    }

    func vector(_ key: String, name: String?, make: () -> [Sample]) -> [Sample] {
        if let found = entries.withLock({ $0.vectors[key] }) { return found }
        let value = make()
        entries.withLock {
            $0.vectors[key] = value
            $0.byName[name ?? "", default: []].append(key)
        }
        return value
    }

    func matrix(_ key: String, name: String?, make: () -> [Series]) -> [Series] {
        if let found = entries.withLock({ $0.matrices[key] }) { return found }
        let value = make()
        entries.withLock {
            $0.matrices[key] = value
            $0.byName[name ?? "", default: []].append(key)
        }
        return value
    }

    /// A function call's or aggregation's result, shared by the rules of the round that contain
    /// the same subexpression.
    func value(_ key: String, names: Set<String>, make: () throws(PromQLError) -> QueryValue) throws(PromQLError) -> QueryValue {
        if let found = entries.withLock({ $0.values[key] }) { return found }
        let value = try make()
        entries.withLock {
            $0.values[key] = value
            for name in names { $0.byName[name, default: []].append(key) }
        }
        return value
    }

    /// Forgets what was read of `name` (and of selectors without a name, which may match it).
    func invalidate(_ name: String) {
        entries.withLock { entries in
            for affected in [name, ""] {
                for key in entries.byName[affected] ?? [] {
                    entries.vectors[key] = nil
                    entries.matrices[key] = nil
                    entries.values[key] = nil
                }
                entries.byName[affected] = nil
            }
        }
    }
}
