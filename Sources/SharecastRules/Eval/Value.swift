import Synchronization
import SharecastSync

/// Label sets of series and samples, `__name__` included.
public typealias Labels = [String: String]

public extension Dictionary where Key == String, Value == String {
    /// A key for grouping and matching: the labels sorted, joined with separators that cannot
    /// occur in label names.
    func signature(including names: [String]? = nil, excluding excluded: Set<String> = []) -> String {
        var parts: [String] = []
        if let names {
            for name in names.sorted() where !excluded.contains(name) { parts.append(name + "\u{1}" + (self[name] ?? "")) }
        } else {
            for (name, value) in self.sorted(by: { $0.key < $1.key }) where !excluded.contains(name) { parts.append(name + "\u{1}" + value) }
        }
        return parts.joined(separator: "\u{2}")
    }

    /// `{a="1", b="2"}` as Prometheus prints label sets (name first when present).
    var promString: String {
        let name = self["__name__"] ?? ""
        let rest = filter { $0.key != "__name__" }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\"\($0.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\"" }
        return name + "{" + rest.joined(separator: ", ") + "}"
    }
}

/// One series' labels, made once when the store first sees the series and shared by every sample
/// and range read from it (through its metric's column, see `SeriesRef`): the keys vector
/// matching and grouping compare are made once per series rather than once per sample and rule.
public final class SeriesLabels: Sendable {
    public let labels: Labels
    /// `labels` without `__name__`.
    let unnamed: Labels
    let signature: String
    let unnamedSignature: String
    /// Match and grouping keys by what they were made for (see `key(_:unnamed:make:)`).
    private let keys = Locked<[String: String]>([:])

    public init(_ labels: Labels) {
        self.labels = labels
        unnamed = labels.droppingName
        signature = labels.signature()
        unnamedSignature = unnamed.signature()
    }

    /// The key `spec` makes of these labels (or of them without the name), made once. `spec`
    /// must say everything `make` depends on: the same spec always means the same key.
    func key(_ spec: String, unnamed: Bool, make: (Labels) -> String) -> String {
        let slot = unnamed ? spec + "\u{3}" : spec
        if let known = keys.withLock({ $0[slot] }) { return known }
        let made = make(unnamed ? self.unnamed : labels)
        keys.withLock { $0[slot] = made }
        return made
    }
}

/// A series' labels as the store keeps them: a row of the column of label sets of one metric.
/// A sample read from the store holds the column (one reference, shared by every sample of that
/// metric, so copying samples does not touch each series' own object) and its row.
public struct SeriesRef: Sendable {
    let column: [SeriesLabels]
    let index: Int
    /// The series' number in its store, never reused there (-1 for series from elsewhere):
    /// what kept groupings compare, without touching the series' labels.
    let id: Int

    init(column: [SeriesLabels], index: Int, id: Int) {
        self.column = column
        self.index = index
        self.id = id
    }

    init(_ identity: SeriesLabels) {
        self.init(column: [identity], index: 0, id: -1)
    }

    var identity: SeriesLabels { column[index] }
}

/// One element of an instant vector.
public struct Sample: Sendable, Equatable {
    /// Where the labels are: a store series' (as read, or without the name), or the sample's own.
    enum Storage: Sendable {
        case series(SeriesRef)
        case unnamedSeries(SeriesRef)
        case own(Labels)
    }

    private(set) var storage: Storage
    public var value: Double
    /// The sample's series number in its store, doubled, plus one when the labels are read
    /// without the name; -1 when the sample has labels of its own (see `PlanCache`). Kept
    /// beside the storage so comparing it reads no reference.
    private(set) var seriesKey: Int

    public init(labels: Labels, value: Double) {
        storage = .own(labels)
        self.value = value
        seriesKey = -1
    }

    init(series: SeriesRef, value: Double) {
        storage = .series(series)
        self.value = value
        seriesKey = series.id < 0 ? -1 : series.id &* 2
    }

    /// A sample with the series' labels less the metric name.
    init(unnamedOf series: SeriesRef, value: Double) {
        storage = .unnamedSeries(series)
        self.value = value
        seriesKey = series.id < 0 ? -1 : series.id &* 2 &+ 1
    }

    public var labels: Labels {
        get {
            switch storage {
            case let .series(series): series.identity.labels
            case let .unnamedSeries(series): series.identity.unnamed
            case let .own(labels): labels
            }
        }
        set {
            storage = .own(newValue)
            seriesKey = -1
        }
    }

    var unnamed: Labels {
        switch storage {
        case let .series(series), let .unnamedSeries(series): series.identity.unnamed
        case let .own(labels): labels.droppingName
        }
    }

    /// This sample's labels less the name, with `value`.
    func droppingName(value: Double) -> Sample {
        switch storage {
        case let .series(series), let .unnamedSeries(series): Sample(unnamedOf: series, value: value)
        case let .own(labels): Sample(labels: labels.droppingName, value: value)
        }
    }

    /// The key of the labels without the metric name: what default vector matching compares.
    var unnamedSignature: String {
        switch storage {
        case let .series(series), let .unnamedSeries(series): series.identity.unnamedSignature
        case let .own(labels): labels.signature(excluding: ["__name__"])
        }
    }

    /// A key made from the labels by `make`, kept with the series when the sample has one.
    func key(_ spec: String, make: (Labels) -> String) -> String {
        switch storage {
        case let .series(series): series.identity.key(spec, unnamed: false, make: make)
        case let .unnamedSeries(series): series.identity.key(spec, unnamed: true, make: make)
        case let .own(labels): make(labels)
        }
    }

    public static func == (a: Sample, b: Sample) -> Bool {
        a.labels == b.labels && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
    }
}

/// A sample in time: milliseconds since the epoch, value.
public struct Point: Sendable, Equatable {
    public var t: Int64
    public var v: Double

    public init(t: Int64, v: Double) {
        self.t = t
        self.v = v
    }
}

/// A series with its points in time order (a slice of the store's points: no copy).
public struct Series: Sendable, Equatable {
    let ref: SeriesRef
    public var points: ArraySlice<Point>

    public var identity: SeriesLabels { ref.identity }

    public var labels: Labels { identity.labels }
    /// `labels` without `__name__`, made once per series rather than once per function result.
    public var unnamed: Labels { identity.unnamed }

    public init(_ identity: SeriesLabels, points: ArraySlice<Point>) {
        self.init(SeriesRef(identity), points: points)
    }

    init(_ ref: SeriesRef, points: ArraySlice<Point>) {
        self.ref = ref
        self.points = points
    }

    public init(labels: Labels, points: [Point]) {
        self.init(SeriesLabels(labels), points: points[...])
    }

    public static func == (a: Series, b: Series) -> Bool {
        a.labels == b.labels && a.points == b.points
    }
}

/// What an expression evaluates to.
public enum QueryValue: Sendable {
    case scalar(Double)
    case vector([Sample])
    case matrix([Series])
    case string(String)
}

/// Where selectors read series from: the in-memory store, or a test's input series.
public protocol SeriesSource: Sendable {
    /// Series whose labels satisfy every matcher, with their points in `[from, through]`.
    func series(matching matchers: [LabelMatcherSpec], from: Int64, through: Int64) -> [Series]
}

/// A matcher as sources see it (the parsed one carries its compiled regex).
public struct LabelMatcherSpec: Sendable {
    let matcher: LabelMatcher

    public var name: String { matcher.name }

    public func matches(_ labels: Labels) -> Bool {
        matcher.matches(labels[matcher.name] ?? "")
    }
}

/// A marker value Prometheus writes when a series goes away; selectors skip it.
public enum StaleMarker {
    public static let bits: UInt64 = 0x7FF0_0000_0000_0002
    public static var value: Double { Double(bitPattern: bits) }
    public static func isStale(_ value: Double) -> Bool { value.bitPattern == bits }
}
