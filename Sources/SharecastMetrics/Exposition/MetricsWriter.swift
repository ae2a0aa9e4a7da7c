/// Writes one scrape, family by family, straight into a byte buffer in the negotiated format.
///
/// A busy server exposes thousands of series, nearly all of them per channel. Building a value
/// per series and encoding it afterwards cost more than the scrape itself; collectors instead
/// call this writer with label sets rendered in advance, so each sample is a copy of its name
/// and labels plus the digits of its value.
///
/// The formats differ in small ways that matter to strict parsers: OpenMetrics names a counter's
/// family without `_total` and adds `_created`, has `# UNIT` and an `info` type, escapes quotes in
/// HELP, and ends with `# EOF`; 0.0.4 puts the full sample name in TYPE and HELP and has no info
/// type (an info metric is a gauge of 1 there).
public struct MetricsWriter {
    public let format: ExpositionFormat
    var out = ByteWriter()
    private var names = SampleNames("")
    private var kind = MetricFamily.Kind.gauge
    /// Where the current family's HELP line starts, and whether a sample followed it: a family
    /// without series is taken back out, as neither format wants an empty one.
    private var familyStart = 0
    private var familyHasSamples = true

    public init(format: ExpositionFormat, capacity: Int = 16 * 1024) {
        self.format = format
        out = ByteWriter(capacity: capacity)
    }

    /// Starts a family. Counter names go without `_total`, info names without `_info`.
    public mutating func family(_ name: String, _ kind: MetricFamily.Kind, help: String, unit: String? = nil) {
        dropEmptyFamily()
        familyStart = out.count
        familyHasSamples = false
        self.kind = kind
        names = SampleNames(name)
        switch format {
        case .prometheus:
            let (sampleName, type): (String, String) = switch kind {
            case .counter: (name + "_total", "counter")
            case .gauge: (name, "gauge")
            case .histogram: (name, "histogram")
            case .info: (name + "_info", "gauge")
            }
            out.append("# HELP "); out.append(sampleName); out.append(" "); out.appendHelp(help, quotes: false)
            out.append("\n# TYPE "); out.append(sampleName); out.append(" "); out.append(type); out.append("\n")
        case .openMetrics:
            out.append("# HELP "); out.append(name); out.append(" "); out.appendHelp(help, quotes: true)
            out.append("\n# TYPE "); out.append(name); out.append(" "); out.append(kind.rawValue); out.append("\n")
            if let unit {
                out.append("# UNIT "); out.append(name); out.append(" "); out.append(unit); out.append("\n")
            }
        }
    }

    public mutating func counter(_ labels: LabelSet, _ value: UInt64, created: RenderedNumber? = nil) {
        familyHasSamples = true
        sampleStart(names.total, labels)
        out.appendInteger(value)
        out.append(UInt8(ascii: "\n"))
        if format == .openMetrics, let created { self.created(labels, created) }
    }

    /// A counter that is not a whole number (CPU seconds).
    public mutating func counter(_ labels: LabelSet, _ value: Double, created: RenderedNumber? = nil) {
        familyHasSamples = true
        sampleStart(names.total, labels)
        out.appendNumber(value)
        out.append(UInt8(ascii: "\n"))
        if format == .openMetrics, let created { self.created(labels, created) }
    }

    public mutating func gauge(_ labels: LabelSet, _ value: Double) {
        familyHasSamples = true
        sampleStart(names.plain, labels)
        out.appendNumber(value)
        out.append(UInt8(ascii: "\n"))
    }

    public mutating func info(_ labels: LabelSet) {
        familyHasSamples = true
        sampleStart(names.info, labels)
        out.append(UInt8(ascii: "1")); out.append(UInt8(ascii: "\n"))
    }

    /// A counter family's samples as a column: `values[i]` for the series in row `i` of `table`.
    public mutating func counters(_ table: SeriesTable, _ values: [UInt64]) {
        let rows = min(table.count, values.count)
        guard rows > 0 else { return }
        familyHasSamples = true
        let openMetrics = format == .openMetrics
        table.bytes.withUnsafeBytes { bytes in
            names.total.withUnsafeBytes { total in
                names.created.withUnsafeBytes { createdName in
                    for row in 0..<rows {
                        let labels = UnsafeRawBufferPointer(rebasing: bytes[table.labels[row]])
                        sampleStart(total, labels)
                        out.appendInteger(values[row])
                        out.append(UInt8(ascii: "\n"))
                        let created = table.created[row]
                        if openMetrics, !created.isEmpty {
                            sampleStart(createdName, labels)
                            out.append(UnsafeRawBufferPointer(rebasing: bytes[created]))
                            out.append(UInt8(ascii: "\n"))
                        }
                    }
                }
            }
        }
    }

    /// A gauge family's samples as a column.
    public mutating func gauges(_ table: SeriesTable, _ values: [Double]) {
        let rows = min(table.count, values.count)
        guard rows > 0 else { return }
        familyHasSamples = true
        table.bytes.withUnsafeBytes { bytes in
            names.plain.withUnsafeBytes { name in
                for row in 0..<rows {
                    sampleStart(name, UnsafeRawBufferPointer(rebasing: bytes[table.labels[row]]))
                    out.appendNumber(values[row])
                    out.append(UInt8(ascii: "\n"))
                }
            }
        }
    }

    /// `bounds` are the bucket labels (`HistogramBounds`), `cumulative` one count per bound then +Inf.
    public mutating func histogram(_ labels: LabelSet, bounds: HistogramBounds, cumulative: [UInt64], sum: Double, created: RenderedNumber? = nil) {
        familyHasSamples = true
        for (index, count) in cumulative.enumerated() {
            out.append(names.bucket)
            out.append(UInt8(ascii: "{"))
            if !labels.rendered.isEmpty {
                out.append(labels.rendered)
                out.append(UInt8(ascii: ","))
            }
            out.append(index < bounds.labels.count ? bounds.labels[index] : HistogramBounds.infinity)
            out.append(UInt8(ascii: "}")); out.append(UInt8(ascii: " "))
            out.appendInteger(count)
            out.append(UInt8(ascii: "\n"))
        }
        sampleStart(names.count, labels)
        out.appendInteger(cumulative.last ?? 0)
        out.append(UInt8(ascii: "\n"))
        sampleStart(names.sum, labels)
        out.appendNumber(sum)
        out.append(UInt8(ascii: "\n"))
        if format == .openMetrics, let created { self.created(labels, created) }
    }

    /// A family built as a value.
    public mutating func write(_ family: MetricFamily) {
        self.family(family.name, family.kind, help: family.help, unit: family.unit)
        for series in family.series {
            switch series.value {
            case let .counter(value, created):
                counter(series.labels, value, created: created.map(RenderedNumber.init))
            case let .gauge(value):
                gauge(series.labels, value)
            case let .histogram(bounds, cumulative, sum, created):
                histogram(series.labels, bounds: HistogramBounds(bounds), cumulative: cumulative, sum: sum, created: created.map(RenderedNumber.init))
            case .info:
                info(series.labels)
            }
        }
    }

    /// The scrape's bytes, with OpenMetrics' `# EOF`.
    public mutating func finish() -> ExposedBytes {
        dropEmptyFamily()
        if format == .openMetrics { out.append("# EOF\n") }
        return out.finish()
    }

    private mutating func created(_ labels: LabelSet, _ created: RenderedNumber) {
        sampleStart(names.created, labels)
        out.append(created.bytes)
        out.append(UInt8(ascii: "\n"))
    }

    /// `name{labels} ` from raw bytes (braces only when there are labels).
    @inline(__always)
    private func sampleStart(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer) {
        out.append(name)
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            out.append(labels)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
    }

    /// `name{labels} ` (braces only when there are labels).
    private mutating func sampleStart(_ name: [UInt8], _ labels: LabelSet) {
        out.append(name)
        if !labels.rendered.isEmpty {
            out.append(UInt8(ascii: "{"))
            out.append(labels.rendered)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
    }

    private mutating func dropEmptyFamily() {
        if !familyHasSamples { out.truncate(to: familyStart) }
        familyHasSamples = true
    }

    /// A family's sample names as bytes, made once per family rather than once per sample.
    struct SampleNames {
        let plain, total, created, info, bucket, count, sum: [UInt8]

        init(_ name: String) {
            plain = Array(name.utf8)
            created = plain + "_created".utf8
            info = plain + "_info".utf8
            bucket = plain + "_bucket".utf8
            count = plain + "_count".utf8
            sum = plain + "_sum".utf8
            total = plain + "_total".utf8
        }
    }
}

/// A number rendered once for many samples (a series' `_created`, which never changes).
public struct RenderedNumber: Sendable {
    let bytes: [UInt8]

    public init(_ value: Double) {
        let writer = ByteWriter(capacity: 32)
        writer.appendNumber(value)
        bytes = writer.bytes
    }
}

/// A histogram's `le="…"` labels in canonical form, rendered when the histogram is made.
public struct HistogramBounds: Sendable {
    let labels: [[UInt8]]
    static let infinity = Array(#"le="+Inf""#.utf8)

    public init(_ bounds: [Double]) {
        labels = bounds.map { Array("le=\"\(MetricsEncoder.canonical($0))\"".utf8) }
    }
}
