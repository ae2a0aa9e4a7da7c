/// One metric family as exposed at a scrape: name, type, help, unit and its samples. Static
/// metrics are turned into these from their handles; collectors build them from snapshots.
public struct MetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram, info
    }

    /// A series of the family. `value` carries the kind's data.
    public struct Series: Sendable, Equatable {
        public enum Value: Sendable, Equatable {
            case counter(Double, created: Double?)
            case gauge(Double)
            /// Cumulative bucket counts (one per bound, then +Inf), and the sum.
            case histogram(bounds: [Double], cumulative: [UInt64], sum: Double, created: Double?)
            case info
        }

        public var labels: LabelSet
        public var value: Value

        public init(labels: LabelSet = .empty, value: Value) {
            self.labels = labels
            self.value = value
        }
    }

    /// The family name: without `_total` for counters and without `_info` for info metrics (the
    /// encoders add the suffixes each format wants).
    public var name: String
    public var kind: Kind
    public var help: String
    /// The unit, when the name ends with it (`bytes`, `seconds`, `ratio`).
    public var unit: String?
    public var series: [Series]

    public init(name: String, kind: Kind, help: String, unit: String? = nil, series: [Series]) {
        self.name = name
        self.kind = kind
        self.help = help
        self.unit = unit
        self.series = series
    }
}
