import Synchronization

/// Series kept in memory for rule evaluation: appended at each evaluation, trimmed to what the
/// longest range in the loaded rules needs.
///
/// Series are indexed by metric name and kept in label order (Prometheus' order, which sums and
/// averages follow), so a selector with a name reads only that name's series, already sorted.
public final class SampleStore: SeriesSource, Sendable {
    final class Entry: @unchecked Sendable {
        let identity: SeriesLabels
        var labels: Labels { identity.labels }
        var signature: String { identity.signature }
        var points: [Point] = []
        /// The last of `points`, kept here so an instant read at the newest time touches only
        /// the entry (`t` is `Int64.min` while there are none).
        var newest = Point(t: .min, v: 0)
        /// Staleness markers among `points`: ranges of a series without any are read as they are.
        var staleCount = 0

        init(_ identity: SeriesLabels) {
            self.identity = identity
        }
    }

    struct Table {
        var bySignature: [String: Entry] = [:]
        /// Per metric name, in signature order (which is label order).
        var byName: [String: [Entry]] = [:]
        /// Counts series coming and going: a selection made at the same generation still holds.
        var generation = 0
        /// The series each selector (by its matchers) selected, and at which generation: rules
        /// select the same series round after round, so the labels are matched once, not per round.
        var selections: [String: (generation: Int, entries: [Entry])] = [:]
    }
    /// Selections beyond this many are dropped all at once (rules were reloaded many times).
    static let selectionLimit = 4096

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
                entry = Entry(SeriesLabels(labels))
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
                table.generation += 1
            }
            if let last = entry.points.last, last.t >= point.t {
                if last.t == point.t {
                    entry.staleCount += (StaleMarker.isStale(point.v) ? 1 : 0) - (StaleMarker.isStale(last.v) ? 1 : 0)
                    entry.points[entry.points.count - 1] = point
                    entry.newest = point
                }
                return
            }
            if StaleMarker.isStale(point.v) { entry.staleCount += 1 }
            entry.points.append(point)
            entry.newest = point
        }
    }

    /// Drops points older than `cutoff` and series left empty.
    public func trim(before cutoff: Int64) {
        table.withLock { table in
            var emptied = false
            for entry in table.bySignature.values {
                guard let first = entry.points.first, first.t < cutoff else { continue }
                let keep = entry.points.firstIndex { $0.t >= cutoff } ?? entry.points.count
                if entry.staleCount > 0 { entry.staleCount -= entry.points[..<keep].count { StaleMarker.isStale($0.v) } }
                entry.points.removeFirst(keep)
                if entry.points.isEmpty {
                    table.bySignature[entry.signature] = nil
                    emptied = true
                }
            }
            if emptied {
                table.generation += 1
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
            let entries = Self.selection(matchers, in: &table)
            var result: [Sample] = []
            result.reserveCapacity(entries.count)
            var hint = PartitionHint()
            for entry in entries {
                var point = entry.newest
                if point.t > time {
                    let found: Point? = entry.points.withUnsafeBufferPointer { points in
                        let low = hint.partition(points) { $0 <= time }
                        return low > 0 ? points[low - 1] : nil
                    }
                    guard let found else { continue }
                    point = found
                }
                guard point.t >= time - lookback, !StaleMarker.isStale(point.v) else { continue }
                result.append(Sample(series: entry.identity, value: point.v))
            }
            return result
        }
    }

    /// The series satisfying every matcher, in label order: from `selections` when no series
    /// came or went since they were matched.
    private static func selection(_ matchers: [LabelMatcherSpec], in table: inout Table) -> [Entry] {
        // Lengths first, so no name or value can make two selectors' keys the same.
        var key = ""
        for spec in matchers {
            key += "\(spec.matcher.name.utf8.count):\(spec.matcher.name)\(spec.matcher.kind.rawValue)\(spec.matcher.value.utf8.count):\(spec.matcher.value)"
        }
        if let known = table.selections[key], known.generation == table.generation { return known.entries }
        let entries = matching(matchers, in: table)
        if table.selections.count >= selectionLimit { table.selections.removeAll() }
        table.selections[key] = (table.generation, entries)
        return entries
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
        guard let candidates = table.byName[name] else { return [] }
        return rest.isEmpty ? candidates : candidates.filter { entry in rest.allSatisfy { $0.matches(entry.labels) } }
    }

    public var seriesCount: Int { table.withLock { $0.bySignature.count } }

    public func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64) -> [Series] {
        series(matching: matchers, from: from, through: through, droppingStale: false)
    }

    /// `droppingStale` leaves staleness markers out (what range selectors want); a series
    /// without any is returned as a slice of the store's points, without a copy.
    func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64, droppingStale: Bool) -> [Series] {
        table.withLock { table -> [Series] in
            let entries = Self.selection(matchers, in: &table)
            var result: [Series] = []
            result.reserveCapacity(entries.count)
            var startHint = PartitionHint(), endHint = PartitionHint()
            for entry in entries {
                let points = entry.points
                let (low, end) = points.withUnsafeBufferPointer { points -> (Int, Int) in
                    (startHint.partition(points) { $0 < from }, endHint.partition(points) { $0 <= through })
                }
                guard low < end else { continue }
                if droppingStale, entry.staleCount > 0 {
                    let kept = points[low..<end].filter { !StaleMarker.isStale($0.v) }
                    if !kept.isEmpty { result.append(Series(entry.identity, points: kept[...])) }
                } else {
                    result.append(Series(entry.identity, points: points[low..<end]))
                }
            }
            return result
        }
    }
}

/// Where a time falls in one series' points after another: the series of a metric are sampled at
/// the same instants, so the place found in one (counted from the newest point) is nearly always
/// the place in the next, checked in two comparisons instead of a binary search.
struct PartitionHint {
    private var fromEnd = 0

    /// The first index whose time does not satisfy `isBefore` (times ascend, so those that do
    /// come first).
    mutating func partition(_ points: UnsafeBufferPointer<Point>, _ isBefore: (Int64) -> Bool) -> Int {
        let guess = points.count - fromEnd
        if guess >= 0, guess <= points.count, guess == 0 || isBefore(points[guess - 1].t),
           guess == points.count || !isBefore(points[guess].t) {
            return guess
        }
        var low = 0, high = points.count
        while low < high {
            let middle = (low + high) / 2
            if isBefore(points[middle].t) { low = middle + 1 } else { high = middle }
        }
        fromEnd = points.count - low
        return low
    }
}
