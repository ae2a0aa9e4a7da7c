import Foundation

/// Writes metric families as Prometheus 0.0.4 or OpenMetrics 1.0 text.
///
/// The formats differ in small ways that matter to strict parsers: OpenMetrics names a counter's
/// family without `_total` and adds `_created`, has `# UNIT` and an `info` type, escapes quotes in
/// HELP, and ends with `# EOF`; 0.0.4 puts the full sample name in TYPE and HELP and has no info
/// type (an info metric is a gauge of 1 there).
public enum MetricsEncoder {
    public static func encode(_ families: [MetricFamily], format: ExpositionFormat) -> String {
        var out = ""
        out.reserveCapacity(families.count * 256)
        for family in families where !family.series.isEmpty {
            switch format {
            case .prometheus: writePrometheus(family, into: &out)
            case .openMetrics: writeOpenMetrics(family, into: &out)
            }
        }
        if format == .openMetrics { out += "# EOF\n" }
        return out
    }

    static func writePrometheus(_ family: MetricFamily, into out: inout String) {
        let name: String, type: String
        switch family.kind {
        case .counter: (name, type) = (family.name + "_total", "counter")
        case .gauge: (name, type) = (family.name, "gauge")
        case .histogram: (name, type) = (family.name, "histogram")
        case .info: (name, type) = (family.name + "_info", "gauge")
        }
        out += "# HELP \(name) \(escapeHelp(family.help, quotes: false))\n# TYPE \(name) \(type)\n"
        for series in family.series {
            switch series.value {
            case let .counter(value, _):
                sample(&out, name, series.labels, number(value))
            case let .gauge(value):
                sample(&out, name, series.labels, number(value))
            case let .histogram(bounds, cumulative, sum, _):
                histogram(&out, name, series.labels, bounds, cumulative, sum)
            case .info:
                sample(&out, name, series.labels, "1")
            }
        }
    }

    static func writeOpenMetrics(_ family: MetricFamily, into out: inout String) {
        out += "# HELP \(family.name) \(escapeHelp(family.help, quotes: true))\n# TYPE \(family.name) \(family.kind.rawValue)\n"
        if let unit = family.unit { out += "# UNIT \(family.name) \(unit)\n" }
        for series in family.series {
            switch series.value {
            case let .counter(value, created):
                sample(&out, family.name + "_total", series.labels, number(value))
                if let created { sample(&out, family.name + "_created", series.labels, number(created)) }
            case let .gauge(value):
                sample(&out, family.name, series.labels, number(value))
            case let .histogram(bounds, cumulative, sum, created):
                histogram(&out, family.name, series.labels, bounds, cumulative, sum)
                if let created { sample(&out, family.name + "_created", series.labels, number(created)) }
            case .info:
                sample(&out, family.name + "_info", series.labels, "1")
            }
        }
    }

    static func histogram(_ out: inout String, _ name: String, _ labels: [(String, String)], _ bounds: [Double], _ cumulative: [UInt64], _ sum: Double) {
        for (index, count) in cumulative.enumerated() {
            let bound = index < bounds.count ? canonical(bounds[index]) : "+Inf"
            sample(&out, name + "_bucket", labels + [("le", bound)], String(count))
        }
        sample(&out, name + "_count", labels, String(cumulative.last ?? 0))
        sample(&out, name + "_sum", labels, number(sum))
    }

    static func sample(_ out: inout String, _ name: String, _ labels: [(String, String)], _ value: String) {
        out += name
        if !labels.isEmpty {
            out += "{"
            for (index, label) in labels.enumerated() {
                if index > 0 { out += "," }
                out += label.0
                out += "=\""
                out += escapeLabel(label.1)
                out += "\""
            }
            out += "}"
        }
        out += " "
        out += value
        out += "\n"
    }

    static func escapeLabel(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String, quotes: Bool) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.append(character)
            }
        }
        return out
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
        if text.contains("e") {
            // Swift writes 1e+16; Go pads the exponent to two digits, as does Python's repr here.
            return text
        }
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
