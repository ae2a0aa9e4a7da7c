import Synchronization

/// Series kept in memory for rule evaluation: appended at each evaluation, trimmed to what the
/// longest range in the loaded rules needs.
public final class SampleStore: SeriesSource, Sendable {
    struct Entry {
        var labels: Labels
        var points: [Point]
    }

    private let table = Mutex<[String: Entry]>([:])

    public init() {}

    /// Adds one point to each series (creating it), in time order.
    public func append(_ labels: Labels, _ point: Point) {
        let key = labels.signature()
        table.withLock { table in
            if table[key] == nil { table[key] = Entry(labels: labels, points: []) }
            if let last = table[key]?.points.last, last.t >= point.t {
                if last.t == point.t, let count = table[key]?.points.count { table[key]?.points[count - 1] = point }
                return
            }
            table[key]?.points.append(point)
        }
    }

    /// Drops points older than `cutoff` and series left empty.
    public func trim(before cutoff: Int64) {
        table.withLock { table in
            for key in Array(table.keys) {
                table[key]?.points.removeAll { $0.t < cutoff }
                if table[key]?.points.isEmpty == true { table[key] = nil }
            }
        }
    }

    public var seriesCount: Int { table.withLock { $0.count } }

    /// In label order, as Prometheus' storage returns series (aggregations sum in this order).
    public func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64) -> [Series] {
        let found = table.withLock { table in
            table.values.compactMap { entry -> Series? in
                guard matchers.allSatisfy({ $0.matches(entry.labels) }) else { return nil }
                // Points are in time order: binary search the window.
                let points = entry.points
                var low = 0, high = points.count
                while low < high {
                    let middle = (low + high) / 2
                    if points[middle].t < from { low = middle + 1 } else { high = middle }
                }
                var end = low
                while end < points.count, points[end].t <= through { end += 1 }
                return low < end ? Series(labels: entry.labels, points: Array(points[low..<end])) : nil
            }
        }
        return found.sorted { LabelOrder.less($0.labels, $1.labels) }
    }
}
