import Foundation

/// The number forms both text formats share: sample values and histogram bounds.
enum MetricsEncoder {
    /// A sample value: integers without a fraction, others as Swift's shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
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

