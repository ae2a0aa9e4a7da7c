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
            }
            if let last = entry.points.last, last.t >= point.t {
                if last.t == point.t {
                    entry.staleCount += (StaleMarker.isStale(point.v) ? 1 : 0) - (StaleMarker.isStale(last.v) ? 1 : 0)
                    entry.points[entry.points.count - 1] = point
                }
                return
            }
            if StaleMarker.isStale(point.v) { entry.staleCount += 1 }
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
                if entry.staleCount > 0 { entry.staleCount -= entry.points[..<keep].count { StaleMarker.isStale($0.v) } }
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
            var hint = PartitionHint()
            Self.forEachMatching(matchers, in: table) { entry in
                entry.points.withUnsafeBufferPointer { points in
                    let low = hint.partition(points) { $0 <= time }
                    guard low > 0 else { return }
                    let point = points[low - 1]
                    guard point.t >= time - lookback, !StaleMarker.isStale(point.v) else { return }
                    result.append(Sample(series: entry.identity, value: point.v))
                }
            }
            return result
        }
    }

    /// Calls `body` with each series satisfying every matcher, in label order. A `__name__="x"`
    /// matcher reads only that name's (already ordered) series and is not checked again.
    private static func forEachMatching(_ matchers: [LabelMatcherSpec], in table: Table, _ body: (Entry) -> Void) {
        func isName(_ spec: LabelMatcherSpec) -> Bool { spec.matcher.name == "__name__" && spec.matcher.kind == .equal }
        guard let name = matchers.first(where: isName)?.matcher.value else {
            let all = table.byName.values.joined().filter { entry in matchers.allSatisfy { $0.matches(entry.labels) } }
            for entry in all.sorted(by: { $0.signature < $1.signature }) { body(entry) }
            return
        }
        let rest = matchers.filter { !isName($0) }
        guard let candidates = table.byName[name] else { return }
        for entry in candidates where rest.isEmpty || rest.allSatisfy({ $0.matches(entry.labels) }) { body(entry) }
    }

    public var seriesCount: Int { table.withLock { $0.bySignature.count } }

    public func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64) -> [Series] {
        series(matching: matchers, from: from, through: through, droppingStale: false)
    }

    /// `droppingStale` leaves staleness markers out (what range selectors want); a series
    /// without any is returned as a slice of the store's points, without a copy.
    func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64, droppingStale: Bool) -> [Series] {
        table.withLock { table -> [Series] in
            var result: [Series] = []
            var startHint = PartitionHint(), endHint = PartitionHint()
            Self.forEachMatching(matchers, in: table) { entry in
                let points = entry.points
                let (low, end) = points.withUnsafeBufferPointer { points -> (Int, Int) in
                    (startHint.partition(points) { $0 < from }, endHint.partition(points) { $0 <= through })
                }
                guard low < end else { return }
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
