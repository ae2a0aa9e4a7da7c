import Synchronization

/// Series kept in memory for rule evaluation: appended at each evaluation, trimmed to what the
/// longest range in the loaded rules needs.
///
/// Series are kept per metric name in columns (labels, points, newest point), so a selector with a
/// name reads only that name's series and walks arrays rather than one object per series; what a
/// selector selects is kept, in label order (Prometheus' order, which sums and averages follow),
/// until a series comes or goes.
public final class SampleStore: SeriesSource, Sendable {
    /// One metric name's series, column by column, in the order they first came.
    struct Block {
        var identities: [SeriesLabels] = []
        var points: [[Point]] = []
        /// The last of each series' points, so an instant read at the newest time touches only
        /// this column (`t` is `Int64.min` while there are none).
        var newest: [Point] = []
        /// Staleness markers among each series' points: ranges without any are read as they are.
        var staleCounts: [Int] = []

        mutating func add(_ point: Point, at row: Int) {
            let stale = StaleMarker.isStale(point.v)
            if let last = points[row].last, last.t >= point.t {
                if last.t == point.t {
                    staleCounts[row] += (stale ? 1 : 0) - (StaleMarker.isStale(last.v) ? 1 : 0)
                    points[row][points[row].count - 1] = point
                    newest[row] = point
                }
                return
            }
            if stale { staleCounts[row] += 1 }
            points[row].append(point)
            newest[row] = point
        }

        /// The newest sample at or before `time` of each row, within `lookback`, unless stale.
        func latest(_ rows: ArraySlice<Row>, at time: Int64, lookback: Int64, into result: inout [Sample]) {
            var hint = PartitionHint()
            for row in rows {
                var point = newest[row.row]
                if point.t > time {
                    let found: Point? = points[row.row].withUnsafeBufferPointer { points in
                        let low = hint.partition(points) { $0 <= time }
                        return low > 0 ? points[low - 1] : nil
                    }
                    guard let found else { continue }
                    point = found
                }
                guard point.t >= time - lookback, !StaleMarker.isStale(point.v) else { continue }
                result.append(Sample(series: identities[row.row], value: point.v))
            }
        }

        /// Each row's points in `[from, through]`, as slices of the stored points unless stale
        /// markers are to be dropped from a series that has some; series without points there
        /// are skipped.
        func forEachRange(_ rows: ArraySlice<Row>, from: Int64, through: Int64, droppingStale: Bool,
                          _ body: (SeriesLabels, ArraySlice<Point>) -> Void) {
            var startHint = PartitionHint(), endHint = PartitionHint()
            for row in rows {
                let series = points[row.row]
                let (low, end) = series.withUnsafeBufferPointer { points -> (Int, Int) in
                    (startHint.partition(points) { $0 < from }, endHint.partition(points) { $0 <= through })
                }
                guard low < end else { continue }
                if droppingStale, staleCounts[row.row] > 0 {
                    let kept = series[low..<end].filter { !StaleMarker.isStale($0.v) }
                    if !kept.isEmpty { body(identities[row.row], kept[...]) }
                } else {
                    body(identities[row.row], series[low..<end])
                }
            }
        }
    }

    /// A series' place: its block and its row there.
    struct Row: Sendable {
        var block: Int
        var row: Int
    }

    struct Table {
        var blocks: [Block] = []
        var blockByName: [String: Int] = [:]
        var rowBySignature: [String: Row] = [:]
        /// Counts series coming and going: a selection made at the same generation still holds.
        var generation = 0
        /// The rows each selector (by its matchers) selected, in label order, and at which
        /// generation: rules select the same series round after round, so labels are matched and
        /// sorted once, not per round.
        var selections: [String: (generation: Int, rows: [Row])] = [:]

        func identity(_ row: Row) -> SeriesLabels { blocks[row.block].identities[row.row] }
    }
    /// Selections beyond this many are dropped all at once (rules were reloaded many times).
    static let selectionLimit = 4096

    private let table = Mutex(Table())

    public init() {}

    /// Adds one point to a series (creating it), in time order; a point at the same time replaces.
    public func append(_ labels: Labels, _ point: Point) {
        let signature = labels.signature()
        table.withLock { table in
            let row: Row
            if let known = table.rowBySignature[signature] {
                row = known
            } else {
                let name = labels["__name__"] ?? ""
                let block: Int
                if let existing = table.blockByName[name] {
                    block = existing
                } else {
                    block = table.blocks.count
                    table.blocks.append(Block())
                    table.blockByName[name] = block
                }
                row = Row(block: block, row: table.blocks[block].identities.count)
                table.blocks[block].identities.append(SeriesLabels(labels))
                table.blocks[block].points.append([])
                table.blocks[block].newest.append(Point(t: .min, v: 0))
                table.blocks[block].staleCounts.append(0)
                table.rowBySignature[signature] = row
                table.generation += 1
            }
            table.blocks[row.block].add(point, at: row.row)
        }
    }

    /// Drops points older than `cutoff` and series left empty.
    public func trim(before cutoff: Int64) {
        table.withLock { table in
            for index in table.blocks.indices {
                var emptied = false
                for row in table.blocks[index].points.indices {
                    guard let first = table.blocks[index].points[row].first, first.t < cutoff else { continue }
                    let keep = table.blocks[index].points[row].firstIndex { $0.t >= cutoff } ?? table.blocks[index].points[row].count
                    if table.blocks[index].staleCounts[row] > 0 {
                        table.blocks[index].staleCounts[row] -= table.blocks[index].points[row][..<keep].count { StaleMarker.isStale($0.v) }
                    }
                    table.blocks[index].points[row].removeFirst(keep)
                    if table.blocks[index].points[row].isEmpty { emptied = true }
                }
                guard emptied else { continue }
                // Series without points leave; the rest of the block moves up.
                let old = table.blocks[index]
                var block = Block()
                for row in old.points.indices where !old.points[row].isEmpty {
                    block.identities.append(old.identities[row])
                    block.points.append(old.points[row])
                    block.newest.append(old.newest[row])
                    block.staleCounts.append(old.staleCounts[row])
                }
                for identity in old.identities { table.rowBySignature[identity.signature] = nil }
                for (row, identity) in block.identities.enumerated() { table.rowBySignature[identity.signature] = Row(block: index, row: row) }
                table.blocks[index] = block
                table.generation += 1
            }
        }
    }

    /// The newest sample of each matching series at or before `time`, if within `lookback`
    /// and not a staleness marker: an instant selector without building series.
    public func latest(matching matchers: [LabelMatcherSpec], at time: Int64, lookback: Int64) -> [Sample] {
        table.withLock { table -> [Sample] in
            let rows = Self.selection(matchers, in: &table)
            var result: [Sample] = []
            result.reserveCapacity(rows.count)
            Self.forEachBlock(rows) { block, rows in table.blocks[block].latest(rows, at: time, lookback: lookback, into: &result) }
            return result
        }
    }

    /// Runs of rows in the same block, in order (a named selector's rows are one run).
    private static func forEachBlock(_ rows: [Row], _ body: (Int, ArraySlice<Row>) -> Void) {
        var start = 0
        while start < rows.count {
            var end = start + 1
            while end < rows.count, rows[end].block == rows[start].block { end += 1 }
            body(rows[start].block, rows[start..<end])
            start = end
        }
    }

    /// The rows satisfying every matcher, in label order: from `selections` when no series
    /// came or went since they were matched.
    private static func selection(_ matchers: [LabelMatcherSpec], in table: inout Table) -> [Row] {
        // Lengths first, so no name or value can make two selectors' keys the same.
        var key = ""
        for spec in matchers {
            key += "\(spec.matcher.name.utf8.count):\(spec.matcher.name)\(spec.matcher.kind.rawValue)\(spec.matcher.value.utf8.count):\(spec.matcher.value)"
        }
        if let known = table.selections[key], known.generation == table.generation { return known.rows }
        let rows = matching(matchers, in: table)
        if table.selections.count >= selectionLimit { table.selections.removeAll() }
        table.selections[key] = (table.generation, rows)
        return rows
    }

    /// The rows satisfying every matcher, in label order. A `__name__="x"` matcher reads only
    /// that name's block and is not checked again.
    private static func matching(_ matchers: [LabelMatcherSpec], in table: Table) -> [Row] {
        func isName(_ spec: LabelMatcherSpec) -> Bool { spec.matcher.name == "__name__" && spec.matcher.kind == .equal }
        let candidates: [Row]
        let rest: [LabelMatcherSpec]
        if let name = matchers.first(where: isName)?.matcher.value {
            guard let block = table.blockByName[name] else { return [] }
            candidates = table.blocks[block].identities.indices.map { Row(block: block, row: $0) }
            rest = matchers.filter { !isName($0) }
        } else {
            candidates = table.blocks.indices.flatMap { block in table.blocks[block].identities.indices.map { Row(block: block, row: $0) } }
            rest = matchers
        }
        return candidates.filter { row in
            let labels = table.identity(row).labels
            return rest.allSatisfy { $0.matches(labels) }
        }.sorted { table.identity($0).signature < table.identity($1).signature }
    }

    public var seriesCount: Int { table.withLock { $0.rowBySignature.count } }

    public func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64) -> [Series] {
        series(matching: matchers, from: from, through: through, droppingStale: false)
    }

    /// `droppingStale` leaves staleness markers out (what range selectors want); a series
    /// without any is returned as a slice of the store's points, without a copy.
    func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64, droppingStale: Bool) -> [Series] {
        table.withLock { table -> [Series] in
            let rows = Self.selection(matchers, in: &table)
            var result: [Series] = []
            result.reserveCapacity(rows.count)
            Self.forEachBlock(rows) { block, rows in
                table.blocks[block].forEachRange(rows, from: from, through: through, droppingStale: droppingStale) { identity, points in
                    result.append(Series(identity, points: points))
                }
            }
            return result
        }
    }

    /// Calls `body` with each matching series and its points in `[from, through]` (staleness
    /// markers left out), in label order, without building series: for functions of a range.
    /// `body` runs under the store's lock and must not call back into the store.
    func forEachRange(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64, _ body: (SeriesLabels, ArraySlice<Point>) -> Void) {
        table.withLock { table in
            let rows = Self.selection(matchers, in: &table)
            Self.forEachBlock(rows) { block, rows in
                table.blocks[block].forEachRange(rows, from: from, through: through, droppingStale: true, body)
            }
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
