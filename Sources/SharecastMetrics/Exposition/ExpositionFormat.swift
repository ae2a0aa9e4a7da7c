/// The two text formats a scrape can ask for.
public enum ExpositionFormat: Sendable {
    /// Prometheus text format 0.0.4, the default.
    case prometheus
    /// OpenMetrics 1.0 text, when the scrape's `Accept` asks for it.
    case openMetrics

    public var contentType: String {
        switch self {
        case .prometheus: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// OpenMetrics when `Accept` names it (as Prometheus's scrapes do), else the 0.0.4 text.
    /// Parsed on the bytes: every scrape does this, and Foundation's trimming cost more than the rest.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheus }
        for part in accept.utf8.split(separator: UInt8(ascii: ",")) {
            var fields = part.split(separator: UInt8(ascii: ";")).makeIterator()
            guard let type = fields.next(), HeaderToken.equals(type, "application/openmetrics-text") else { continue }
            // A zero quality means "not acceptable".
            var refused = false
            while let field = fields.next() {
                let compact = field.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
                if compact.elementsEqual("q=0".utf8) || compact.elementsEqual("q=0.0".utf8) || compact.elementsEqual("q=0.00".utf8)
                    || compact.elementsEqual("q=0.000".utf8) { refused = true }
            }
            if !refused { return .openMetrics }
        }
        return .prometheus
    }
}

/// Comparisons of header list items without Foundation, for the per-scrape headers.
public enum HeaderToken {
    /// Whether `token`, less surrounding spaces and tabs, is `expected` (ASCII, case-insensitive).
    public static func equals(_ token: Substring.UTF8View, _ expected: StaticString) -> Bool {
        hasPrefix(token, expected, whole: true)
    }

    /// Whether `token`, less leading spaces and tabs, starts with `prefix` (ASCII, case-insensitive).
    public static func hasPrefix(_ token: Substring.UTF8View, _ prefix: StaticString, whole: Bool = false) -> Bool {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var trimmed = token.drop(while: isSpace)
        if whole { while let last = trimmed.last, isSpace(last) { trimmed = trimmed.dropLast() } }
        let expected = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard trimmed.count >= expected.count, !whole || trimmed.count == expected.count else { return false }
        return zip(trimmed, expected).allSatisfy { lower($0) == lower($1) }
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}
