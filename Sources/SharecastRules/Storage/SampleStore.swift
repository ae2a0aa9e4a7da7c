import Synchronization
import SharecastSync

/// Series kept in memory for rule evaluation: appended at each evaluation, trimmed to what the
/// longest range in the loaded rules needs.
///
/// Series are kept per metric name in columns (labels, points, newest point), so a selector with a
/// name reads only that name's series and walks arrays rather than one object per series; what a
/// selector selects is kept, in label order (Prometheus' order, which sums and averages follow),
/// until a series comes or goes.
public final class SampleStore: SeriesSource, Sendable {
    /// One metric name's series, column by column, in the order they first came.
    ///
    /// All the series' points share one array, each series in its own segment, so reading a
    /// range of every series walks one block of memory instead of one allocation per series.
    /// A series appends at the end of its segment; when the segment is full it moves its points
    /// back to the segment's start if it is mostly trimmed, or to a segment twice the size at the
    /// end of the array otherwise (the array is compacted when holes reach half the segments).
    struct Block {
        var identities: [SeriesLabels] = []
        /// Each series' number in the store (see `SeriesRef.id`).
        var ids: [Int] = []
        var arena: [Point] = []
        var segmentStart: [Int] = []
        var segmentSize: [Int] = []
        /// Where each series' oldest point is in `arena`, and how many it has.
        var first: [Int] = []
        var count: [Int] = []
        /// The last of each series' points, so an instant read at the newest time touches only
        /// this column (`t` is `Int64.min` while there are none).
        var newest: [Point] = []
        /// Staleness markers among each series' points: ranges without any are read as they are.
        var staleCounts: [Int] = []
        /// The newest value that is not a staleness marker (NaN before any), and the time of the
        /// newest point that went down from the one before it: a range starting at or after that
        /// time holds no counter reset, and `rate` need not look at every point.
        var lastValue: [Double] = []
        var lastDropAt: [Int64] = []
        /// Counts series coming to and going from this block (see `Table.selections`).
        var generation = 0
        static let initialSegment = 16

        var rows: Int { identities.count }

        mutating func addRow(_ identity: SeriesLabels, id: Int) -> Int {
            identities.append(identity)
            ids.append(id)
            segmentStart.append(arena.count)
            segmentSize.append(Self.initialSegment)
            first.append(arena.count)
            count.append(0)
            newest.append(Point(t: .min, v: 0))
            staleCounts.append(0)
            lastValue.append(.nan)
            lastDropAt.append(.min)
            arena.append(contentsOf: repeatElement(Point(t: 0, v: 0), count: Self.initialSegment))
            generation += 1
            return identities.count - 1
        }

        mutating func add(_ point: Point, at row: Int) {
            let stale = StaleMarker.isStale(point.v)
            if count[row] > 0 {
                let lastIndex = first[row] + count[row] - 1
                let last = arena[lastIndex]
                if last.t >= point.t {
                    if last.t == point.t {
                        staleCounts[row] += (stale ? 1 : 0) - (StaleMarker.isStale(last.v) ? 1 : 0)
                        arena[lastIndex] = point
                        newest[row] = point
                        // Whether the new value is a drop is not worked out: assume it is.
                        lastDropAt[row] = point.t
                    }
                    return
                }
            }
            if first[row] + count[row] == segmentStart[row] + segmentSize[row] { makeRoom(row) }
            if !stale {
                if point.v < lastValue[row] { lastDropAt[row] = point.t }
                lastValue[row] = point.v
            }
            arena[first[row] + count[row]] = point
            count[row] += 1
            if stale { staleCounts[row] += 1 }
            newest[row] = point
        }

        private mutating func makeRoom(_ row: Int) {
            let points = first[row]..<(first[row] + count[row])
            if count[row] <= segmentSize[row] / 2 {
                // Mostly trimmed: slide back to the segment's start.
                let start = segmentStart[row]
                for (offset, index) in points.enumerated() { arena[start + offset] = arena[index] }
                first[row] = start
                return
            }
            let size = segmentSize[row] * 2
            let start = arena.count
            // Copied out first: appending a slice of the array itself would copy all of it.
            let moving = Array(arena[points])
            arena.append(contentsOf: moving)
            arena.append(contentsOf: repeatElement(Point(t: 0, v: 0), count: size - count[row]))
            segmentStart[row] = start
            segmentSize[row] = size
            first[row] = start
            // Growing leaves the old segment behind as a hole; holes past half the live
            // segments' size are taken out.
            if 2 * arena.count > 3 * segmentSize.reduce(0, +) { compact() }
        }

        /// Lays the segments out again without holes.
        private mutating func compact() {
            var fresh: [Point] = []
            fresh.reserveCapacity(segmentSize.reduce(0, +))
            for row in 0..<rows {
                let start = fresh.count
                fresh.append(contentsOf: arena[first[row]..<(first[row] + count[row])])
                fresh.append(contentsOf: repeatElement(Point(t: 0, v: 0), count: segmentSize[row] - count[row]))
                segmentStart[row] = start
                first[row] = start
            }
            arena = fresh
        }

        /// Drops each series' points older than `cutoff`; true when a series was left without any.
        mutating func trim(before cutoff: Int64) -> Bool {
            var emptied = false
            for row in 0..<rows where count[row] > 0 && arena[first[row]].t < cutoff {
                var dropped = 0
                while dropped < count[row], arena[first[row] + dropped].t < cutoff {
                    if StaleMarker.isStale(arena[first[row] + dropped].v) { staleCounts[row] -= 1 }
                    dropped += 1
                }
                first[row] += dropped
                count[row] -= dropped
                if count[row] == 0 { emptied = true }
            }
            return emptied
        }

        /// The block without its series that have no points left.
        func withoutEmptySeries() -> Block {
            var block = Block()
            for row in 0..<rows where count[row] > 0 {
                let kept = block.addRow(identities[row], id: ids[row])
                for index in first[row]..<(first[row] + count[row]) { block.add(arena[index], at: kept) }
                block.lastDropAt[kept] = max(block.lastDropAt[kept], lastDropAt[row])
            }
            return block
        }

        /// The newest sample at or before `time` of each row, within `lookback`, unless stale.
        func latest(_ rows: ArraySlice<Row>, at time: Int64, lookback: Int64, into result: inout [Sample]) {
            var hint = PartitionHint()
            arena.withUnsafeBufferPointer { arena in
                for row in rows {
                    var point = newest[row.row]
                    if point.t > time {
                        let points = UnsafeBufferPointer(rebasing: arena[first[row.row]..<(first[row.row] + count[row.row])])
                        let low = hint.partition(points) { $0 <= time }
                        guard low > 0 else { continue }
                        point = points[low - 1]
                    }
                    guard point.t >= time - lookback, !StaleMarker.isStale(point.v) else { continue }
                    result.append(Sample(series: SeriesRef(column: identities, index: row.row, id: ids[row.row]), value: point.v))
                }
            }
        }

        /// Each row's points in `[from, through]`, as slices of the stored points unless stale
        /// markers are to be dropped from a series that has some; series without points there
        /// are skipped. The flag tells whether the points are known never to go down (worked out
        /// only when `checkingRises`).
        func forEachRange(_ rows: ArraySlice<Row>, from: Int64, through: Int64, droppingStale: Bool, checkingRises: Bool = false,
                          _ body: (SeriesRef, ArraySlice<Point>, Bool) -> Void) {
            var startHint = PartitionHint(), endHint = PartitionHint()
            for row in rows {
                let start = first[row.row], stored = first[row.row]..<(first[row.row] + count[row.row])
                let (low, end) = arena.withUnsafeBufferPointer { arena -> (Int, Int) in
                    let points = UnsafeBufferPointer(rebasing: arena[stored])
                    return (startHint.partition(points) { $0 < from }, endHint.partition(points) { $0 <= through })
                }
                guard low < end else { continue }
                let window = arena[(start + low)..<(start + end)]
                if droppingStale, staleCounts[row.row] > 0 {
                    let kept = window.filter { !StaleMarker.isStale($0.v) }
                    if !kept.isEmpty { body(SeriesRef(column: identities, index: row.row, id: ids[row.row]), kept[...], false) }
                } else {
                    let rising = checkingRises && staleCounts[row.row] == 0 && lastDropAt[row.row] <= window[window.startIndex].t
                    body(SeriesRef(column: identities, index: row.row, id: ids[row.row]), window, rising)
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
        /// Counts series coming and going anywhere: a selection without a metric name made at
        /// the same generation still holds (one with a name follows its block's generation, so
        /// alerts coming and going do not send every other selector back to matching labels).
        var generation = 0
        /// The number the next new series gets.
        var nextID = 0
        /// The rows each selector (by its matchers) selected, in label order, and at which
        /// generation: rules select the same series round after round, so labels are matched and
        /// sorted once, not per round.
        var selections: [String: (block: Int?, generation: Int, rows: [Row])] = [:]

        func identity(_ row: Row) -> SeriesLabels { blocks[row.block].identities[row.row] }
    }
    /// Selections beyond this many are dropped all at once (rules were reloaded many times).
    static let selectionLimit = 4096

    private let table = Locked(Table())

    public init() {}

    /// Adds one point to a series (creating it), in time order; a point at the same time replaces.
    public func append(_ labels: Labels, _ point: Point) {
        append(labels, signature: labels.signature(), point)
    }

    /// The same, with the labels' `signature()` already made.
    func append(_ labels: Labels, signature: String, _ point: Point) {
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
                row = Row(block: block, row: table.blocks[block].addRow(SeriesLabels(labels), id: table.nextID))
                table.nextID += 1
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
                guard table.blocks[index].trim(before: cutoff) else { continue }
                // Series without points leave; the rest of the block moves up.
                let old = table.blocks[index]
                var block = old.withoutEmptySeries()
                block.generation = old.generation + 1
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
        if let known = table.selections[key],
           known.generation == (known.block.map { table.blocks[$0].generation } ?? table.generation) {
            return known.rows
        }
        let rows = matching(matchers, in: table)
        let name = matchers.first { $0.matcher.name == "__name__" && $0.matcher.kind == .equal }?.matcher.value
        let block = name.flatMap { table.blockByName[$0] }
        if table.selections.count >= selectionLimit { table.selections.removeAll() }
        table.selections[key] = (block, block.map { table.blocks[$0].generation } ?? table.generation, rows)
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
                table.blocks[block].forEachRange(rows, from: from, through: through, droppingStale: droppingStale) { identity, points, _ in
                    result.append(Series(identity, points: points))
                }
            }
            return result
        }
    }

    /// Calls `body` with each matching series and its points in `[from, through]` (staleness
    /// markers left out), in label order, without building series: for functions of a range.
    /// With `checkingRises`, the flag is true when the points are known never to go down (no
    /// counter reset among them). `body` runs under the store's lock and must not call back
    /// into the store.
    func forEachRange(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64, checkingRises: Bool = false,
                      _ body: (SeriesRef, ArraySlice<Point>, Bool) -> Void) {
        table.withLock { table in
            let rows = Self.selection(matchers, in: &table)
            Self.forEachBlock(rows) { block, rows in
                table.blocks[block].forEachRange(rows, from: from, through: through, droppingStale: true, checkingRises: checkingRises, body)
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
