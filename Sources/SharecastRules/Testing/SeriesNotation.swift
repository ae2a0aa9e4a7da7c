/// promtool's input series notation: `metric{a="b"}` and values like `1+2x3 _ 5 stale _x2 -1-1x4`.
public enum SeriesNotation {
    /// The labels of `metric{a="b"}` (equality matchers only).
    public static func labels(_ text: String) throws(PromQLError) -> Labels {
        // `{}` (or nothing) is a sample without labels, as promtool's own tests write a scalar's or
        // an aggregate's result; as a selector it would need a matcher.
        if text.allSatisfy({ $0 == "{" || $0 == "}" || $0.isWhitespace }), text.filter({ $0 == "{" }).count <= 1,
           text.filter({ $0 == "}" }).count == text.filter({ $0 == "{" }).count {
            return [:]
        }
        let expr = try Parser.parse(text)
        guard case let .vectorSelector(selector) = Functions.unwrap(expr), selector.offset == 0 else {
            throw PromQLError("expected a series like metric{label=\"value\"}, got \"\(text)\"")
        }
        var labels: Labels = [:]
        if let name = selector.name { labels["__name__"] = name }
        for matcher in selector.matchers {
            guard matcher.kind == .equal else { throw PromQLError("series labels must use =, got \(matcher.kind.rawValue) in \"\(text)\"") }
            labels[matcher.name] = matcher.value
        }
        return labels
    }

    /// Values one series may expand to: a test file's `x1000000000` must be an error, not a
    /// process that allocates until it is killed.
    public static let maxValues = 1_000_000

    /// One value per step: nil for `_` (no sample), `StaleMarker.value` for `stale`.
    public static func values(_ text: String) throws(PromQLError) -> [Double?] {
        var result: [Double?] = []
        func room(_ count: Int, _ token: String) throws(PromQLError) {
            guard count >= 0, count <= maxValues - result.count else {
                throw PromQLError("series value \"\(token)\" expands to more than \(maxValues) values")
            }
        }
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            let token = String(word)
            if token == "_" { result.append(nil); continue }
            if token == "stale" { result.append(StaleMarker.value); continue }
            if token.hasPrefix("_x"), let count = Int(token.dropFirst(2)) {
                try room(count, token)
                result += [Double?](repeating: nil, count: count)
                continue
            }
            if let x = token.lastIndex(of: "x"), let count = Int(token[token.index(after: x)...]) {
                let body = String(token[..<x])
                // a+b or a-b, where a may itself be negative or in exponent form.
                guard let (start, step) = splitStep(body) else { throw PromQLError("bad series value \"\(token)\"") }
                try room(count, token)
                try room(count + 1, token)
                for index in 0...count { result.append(start + Double(index) * step) }
                continue
            }
            guard let value = parseValue(token) else { throw PromQLError("bad series value \"\(token)\"") }
            result.append(value)
        }
        return result
    }

    static func splitStep(_ body: String) -> (Double, Double)? {
        let characters = Array(body)
        for index in stride(from: characters.count - 1, to: 0, by: -1) where characters[index] == "+" || characters[index] == "-" {
            if characters[index - 1] == "e" || characters[index - 1] == "E" { continue }
            guard let start = parseValue(String(characters[..<index])), let step = parseValue(String(characters[(index + 1)...])) else { continue }
            return (start, characters[index] == "-" ? -step : step)
        }
        return parseValue(body).map { ($0, 0) }
    }

    static func parseValue(_ text: String) -> Double? {
        switch text.lowercased() {
        case "inf", "+inf": .infinity
        case "-inf": -.infinity
        case "nan": .nan
        default: Double(text)
        }
    }
}
