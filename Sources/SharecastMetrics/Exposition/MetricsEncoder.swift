import Foundation

/// Writes metric families as Prometheus 0.0.4 or OpenMetrics 1.0 text.
///
/// The formats differ in small ways that matter to strict parsers: OpenMetrics names a counter's
/// family without `_total` and adds `_created`, has `# UNIT` and an `info` type, escapes quotes in
/// HELP, and ends with `# EOF`; 0.0.4 puts the full sample name in TYPE and HELP and has no info
/// type (an info metric is a gauge of 1 there).
///
/// It writes bytes, not `String`s: a scrape of a busy server is thousands of lines, and appending
/// UTF-8 to one growing buffer is several times faster than building strings.
public enum MetricsEncoder {
    public static func encode(_ families: [MetricFamily], format: ExpositionFormat) -> String {
        String(decoding: encodeBytes(families, format: format), as: UTF8.self)
    }

    public static func encodeBytes(_ families: [MetricFamily], format: ExpositionFormat) -> [UInt8] {
        var out = ByteWriter()
        out.bytes.reserveCapacity(families.reduce(0) { $0 + 128 + $1.series.count * 96 })
        for family in families where !family.series.isEmpty {
            switch format {
            case .prometheus: writePrometheus(family, into: &out)
            case .openMetrics: writeOpenMetrics(family, into: &out)
            }
        }
        if format == .openMetrics { out.append("# EOF\n") }
        return out.bytes
    }

    static func writePrometheus(_ family: MetricFamily, into out: inout ByteWriter) {
        let name: String, type: String
        switch family.kind {
        case .counter: (name, type) = (family.name + "_total", "counter")
        case .gauge: (name, type) = (family.name, "gauge")
        case .histogram: (name, type) = (family.name, "histogram")
        case .info: (name, type) = (family.name + "_info", "gauge")
        }
        out.append("# HELP "); out.append(name); out.append(" "); out.appendHelp(family.help, quotes: false)
        out.append("\n# TYPE "); out.append(name); out.append(" "); out.append(type); out.append("\n")
        for series in family.series {
            switch series.value {
            case let .counter(value, _):
                sample(&out, name, "", series.labels, value)
            case let .gauge(value):
                sample(&out, name, "", series.labels, value)
            case let .histogram(bounds, cumulative, sum, _):
                histogram(&out, name, series.labels, bounds, cumulative, sum)
            case .info:
                sample(&out, name, "", series.labels, 1)
            }
        }
    }

    static func writeOpenMetrics(_ family: MetricFamily, into out: inout ByteWriter) {
        out.append("# HELP "); out.append(family.name); out.append(" "); out.appendHelp(family.help, quotes: true)
        out.append("\n# TYPE "); out.append(family.name); out.append(" "); out.append(family.kind.rawValue); out.append("\n")
        if let unit = family.unit {
            out.append("# UNIT "); out.append(family.name); out.append(" "); out.append(unit); out.append("\n")
        }
        for series in family.series {
            switch series.value {
            case let .counter(value, created):
                sample(&out, family.name, "_total", series.labels, value)
                if let created { sample(&out, family.name, "_created", series.labels, created) }
            case let .gauge(value):
                sample(&out, family.name, "", series.labels, value)
            case let .histogram(bounds, cumulative, sum, created):
                histogram(&out, family.name, series.labels, bounds, cumulative, sum)
                if let created { sample(&out, family.name, "_created", series.labels, created) }
            case .info:
                sample(&out, family.name, "_info", series.labels, 1)
            }
        }
    }

    static func histogram(_ out: inout ByteWriter, _ name: String, _ labels: [(String, String)], _ bounds: [Double], _ cumulative: [UInt64], _ sum: Double) {
        for (index, count) in cumulative.enumerated() {
            let bound = index < bounds.count ? canonical(bounds[index]) : "+Inf"
            sample(&out, name, "_bucket", labels + [("le", bound)], Double(count))
        }
        sample(&out, name, "_count", labels, Double(cumulative.last ?? 0))
        sample(&out, name, "_sum", labels, sum)
    }

    static func sample(_ out: inout ByteWriter, _ name: String, _ suffix: String, _ labels: [(String, String)], _ value: Double) {
        out.append(name)
        out.append(suffix)
        if !labels.isEmpty {
            out.bytes.append(UInt8(ascii: "{"))
            var first = true
            for label in labels {
                if !first { out.bytes.append(UInt8(ascii: ",")) }
                first = false
                out.append(label.0)
                out.bytes.append(UInt8(ascii: "="))
                out.bytes.append(UInt8(ascii: "\""))
                out.appendLabelValue(label.1)
                out.bytes.append(UInt8(ascii: "\""))
            }
            out.bytes.append(UInt8(ascii: "}"))
        }
        out.bytes.append(UInt8(ascii: " "))
        out.appendNumber(value)
        out.bytes.append(UInt8(ascii: "\n"))
    }

    static func escapeLabel(_ value: String) -> String {
        var writer = ByteWriter()
        writer.appendLabelValue(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// A sample value: integers without a fraction, others as Swift's shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// The canonical form of a bucket bound (as Go and the OpenMetrics parsers write it): `1.0`,
    /// `0.005`, `2.5`, and an exponent from a million up (`1e+06`).
    static func canonical(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        var text = "\(value)"
        if text.contains("e") { return text }
        if let dot = text.firstIndex(of: "."), value > 0 {
            let integerDigits = text.distance(from: text.startIndex, to: dot)
            if integerDigits > 6 {
                let digits = text.replacingOccurrences(of: ".", with: "")
                var mantissa = String(digits.prefix(1)) + "." + digits.dropFirst()
                while mantissa.hasSuffix("0") { mantissa.removeLast() }
                if mantissa.hasSuffix(".") { mantissa.removeLast() }
                let exponent = integerDigits - 1
                text = mantissa + "e+" + (exponent < 10 ? "0\(exponent)" : "\(exponent)")
            }
        }
        return text
    }
}

/// A growing UTF-8 buffer with the exposition formats' escaping.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func appendLabelValue(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            guard utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                default: bytes.append(byte)
                }
            }
        }
    }

    mutating func appendHelp(_ value: String, quotes: Bool) {
        var value = value
        value.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\"") where quotes: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                default: bytes.append(byte)
                }
            }
        }
    }

    /// Integers (the common case: counters, counts) without going through `String`.
    mutating func appendNumber(_ value: Double) {
        guard value == value.rounded(), abs(value) < 1e15 else {
            append(MetricsEncoder.number(value))
            return
        }
        var integer = Int64(value)
        if integer == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if integer < 0 {
            bytes.append(UInt8(ascii: "-"))
            integer = -integer
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while integer > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(integer % 10)
                integer /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }
}
