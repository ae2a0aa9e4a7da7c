import Synchronization

/// Series kept in memory for rule evaluation: appended at each evaluation, trimmed to what the
/// longest range in the loaded rules needs.
///
/// Series are indexed by metric name and kept in label order (Prometheus' order, which sums and
/// averages follow), so a selector with a name reads only that name's series, already sorted.
public final class SampleStore: SeriesSource, Sendable {
    final class Entry: @unchecked Sendable {
        let labels: Labels
        let unnamed: Labels
        let signature: String
        let unnamedSignature: String
        var points: [Point] = []

        init(labels: Labels, signature: String) {
            self.labels = labels
            self.signature = signature
            unnamed = labels.droppingName
            unnamedSignature = labels.signature(excluding: ["__name__"])
        }
    }

    struct Table {
        var bySignature: [String: Entry] = [:]
        /// Per metric name, in signature order (which is label order).
        var byName: [String: [Entry]] = [:]
    }

    private let table = Mutex(Table())

    public init() {}

    /// Adds one point to a series (creating it), in time order; a point at the same time replaces.
    public func append(_ labels: Labels, _ point: Point) {
        let signature = labels.signature()
        table.withLock { table in
            let entry: Entry
            if let existing = table.bySignature[signature] {
                entry = existing
            } else {
                entry = Entry(labels: labels, signature: signature)
                table.bySignature[signature] = entry
                let name = labels["__name__"] ?? ""
                var list = table.byName[name] ?? []
                var low = 0, high = list.count
                while low < high {
                    let middle = (low + high) / 2
                    if list[middle].signature < signature { low = middle + 1 } else { high = middle }
                }
                list.insert(entry, at: low)
                table.byName[name] = list
            }
            if let last = entry.points.last, last.t >= point.t {
                if last.t == point.t { entry.points[entry.points.count - 1] = point }
                return
            }
            entry.points.append(point)
        }
    }

    /// Drops points older than `cutoff` and series left empty.
    public func trim(before cutoff: Int64) {
        table.withLock { table in
            var emptied = false
            for entry in table.bySignature.values {
                guard let first = entry.points.first, first.t < cutoff else { continue }
                let keep = entry.points.firstIndex { $0.t >= cutoff } ?? entry.points.count
                entry.points.removeFirst(keep)
                if entry.points.isEmpty {
                    table.bySignature[entry.signature] = nil
                    emptied = true
                }
            }
            if emptied {
                for (name, list) in table.byName {
                    let kept = list.filter { !$0.points.isEmpty }
                    table.byName[name] = kept.isEmpty ? nil : kept
                }
            }
        }
    }

    /// The newest sample of each matching series at or before `time`, if within `lookback`
    /// and not a staleness marker: an instant selector without building series.
    public func latest(matching matchers: [LabelMatcherSpec], at time: Int64, lookback: Int64) -> [Sample] {
        table.withLock { table -> [Sample] in
            var result: [Sample] = []
            for entry in Self.matching(matchers, in: table) {
                let points = entry.points
                var low = 0, high = points.count
                while low < high {
                    let middle = (low + high) / 2
                    if points[middle].t <= time { low = middle + 1 } else { high = middle }
                }
                guard low > 0 else { continue }
                let point = points[low - 1]
                guard point.t >= time - lookback, !StaleMarker.isStale(point.v) else { continue }
                result.append(Sample(labels: entry.labels, value: point.v, unnamed: entry.unnamed, unnamedSignature: entry.unnamedSignature))
            }
            return result
        }
    }

    /// The series satisfying every matcher, in label order. A `__name__="x"` matcher reads only
    /// that name's (already ordered) series and is not checked again.
    private static func matching(_ matchers: [LabelMatcherSpec], in table: Table) -> [Entry] {
        func isName(_ spec: LabelMatcherSpec) -> Bool { spec.matcher.name == "__name__" && spec.matcher.kind == .equal }
        guard let name = matchers.first(where: isName)?.matcher.value else {
            return table.byName.values.joined().filter { entry in matchers.allSatisfy { $0.matches(entry.labels) } }
                .sorted { $0.signature < $1.signature }
        }
        let rest = matchers.filter { !isName($0) }
        let candidates = table.byName[name] ?? []
        return rest.isEmpty ? candidates : candidates.filter { entry in rest.allSatisfy { $0.matches(entry.labels) } }
    }

    public var seriesCount: Int { table.withLock { $0.bySignature.count } }

    public func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64) -> [Series] {
        table.withLock { table -> [Series] in
            var result: [Series] = []
            for entry in Self.matching(matchers, in: table) {
                let points = entry.points
                var low = 0, high = points.count
                while low < high {
                    let middle = (low + high) / 2
                    if points[middle].t < from { low = middle + 1 } else { high = middle }
                }
                var end = low, top = points.count
                while end < top {
                    let middle = (end + top) / 2
                    if points[middle].t <= through { end = middle + 1 } else { top = middle }
                }
                if low < end { result.append(Series(labels: entry.labels, points: points[low..<end], unnamed: entry.unnamed)) }
            }
            return result
        }
    }
}
