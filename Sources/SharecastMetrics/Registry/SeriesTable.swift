/// The label sets (and `_created` values) of many series of the same shape, packed into one
/// buffer, for collectors that write a family as a column of values.
///
/// Per-channel families are nearly every series of a scrape. Writing them from a table built
/// when a channel comes or goes, rather than from a label set per sample, makes a sample a copy
/// of byte ranges out of one buffer: no reference counting, no lookups.
public struct SeriesTable: Sendable {
    var bytes: [UInt8] = []
    var labels: [Range<Int>] = []
    var created: [Range<Int>] = []

    public init() {}

    public var count: Int { labels.count }

    public mutating func append(_ labelSet: LabelSet, created value: RenderedNumber? = nil) {
        let start = bytes.count
        bytes += labelSet.rendered
        labels.append(start..<bytes.count)
        let createdStart = bytes.count
        if let value { bytes += value.bytes }
        created.append(createdStart..<bytes.count)
    }
}
