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

/// One element of an instant vector.
public struct Sample: Sendable, Equatable {
    public var labels: Labels
    public var value: Double
    /// `labels` without `__name__` when the sample came straight from a selector (so operators
    /// that drop the name do not copy the labels).
    var cachedUnnamed: Labels?
    /// The signature of `unnamed`, when the store made it once for the series.
    var cachedUnnamedSignature: String?

    public init(labels: Labels, value: Double) {
        self.labels = labels
        self.value = value
    }

    init(labels: Labels, value: Double, unnamed: Labels?, unnamedSignature: String? = nil) {
        self.labels = labels
        self.value = value
        cachedUnnamed = unnamed
        cachedUnnamedSignature = unnamedSignature
    }

    var unnamed: Labels { cachedUnnamed ?? labels.droppingName }

    /// The key of the labels without the metric name: what default vector matching compares.
    var unnamedSignature: String { cachedUnnamedSignature ?? labels.signature(excluding: ["__name__"]) }

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
    public var labels: Labels
    /// `labels` without `__name__`, made once per series rather than once per function result.
    public var unnamed: Labels
    public var points: ArraySlice<Point>

    public init(labels: Labels, points: ArraySlice<Point>, unnamed: Labels? = nil) {
        self.labels = labels
        self.points = points
        self.unnamed = unnamed ?? labels.droppingName
    }

    public init(labels: Labels, points: [Point]) {
        self.init(labels: labels, points: points[...])
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
