/// PromQL tokens, each with its 1-based column.
struct Token: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        case number(Double)
        case duration(Int64)
        case string(String)
        case punct(String)
        case end
    }

    let kind: Kind
    let column: Int
}

/// Splits an expression into tokens.
enum Lexer {
    static let punctuation = ["=~", "!~", "==", "!=", ">=", "<=", "(", ")", "{", "}", "[", "]", ",", "=", ">", "<", "+", "-", "*", "/", "%", "^", ":", "@"]

    static func tokens(_ text: String) throws(PromQLError) -> [Token] {
        let chars = Array(text.unicodeScalars)
        var index = 0
        var result: [Token] = []
        func peek(_ offset: Int = 0) -> Unicode.Scalar? { index + offset < chars.count ? chars[index + offset] : nil }
        while index < chars.count {
            let c = chars[index]
            let column = index + 1
            if c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1; continue }
            if c == "#" {
                while index < chars.count, chars[index] != "\n" { index += 1 }
                continue
            }
            if isDigit(c) || (c == "." && peek(1).map(isDigit) == true) {
                let start = index
                while index < chars.count, isDigit(chars[index]) || chars[index] == "." || isLetter(chars[index])
                    || ((chars[index] == "+" || chars[index] == "-") && (chars[index - 1] == "e" || chars[index - 1] == "E") && !isDurationText(chars[start..<index - 1])) {
                    index += 1
                }
                let word = String(String.UnicodeScalarView(chars[start..<index]))
                if let duration = parseDuration(word) {
                    result.append(Token(kind: .duration(duration), column: column))
                } else if let number = parseNumber(word) {
                    result.append(Token(kind: .number(number), column: column))
                } else {
                    throw PromQLError("bad number or duration \"\(word)\"", column: column)
                }
                continue
            }
            if isLetter(c) || c == "_" || c == ":" && false {
                let start = index
                while index < chars.count, isLetter(chars[index]) || isDigit(chars[index]) || chars[index] == "_" || chars[index] == ":" { index += 1 }
                result.append(Token(kind: .identifier(String(String.UnicodeScalarView(chars[start..<index]))), column: column))
                continue
            }
            if c == "\"" || c == "'" || c == "`" {
                index += 1
                var value = String.UnicodeScalarView()
                var closed = false
                while index < chars.count {
                    let d = chars[index]
                    if d == c { closed = true; index += 1; break }
                    if d == "\\", c != "`" {
                        index += 1
                        guard index < chars.count else { break }
                        let e = chars[index]
                        switch e {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "\\", "\"", "'", "`": value.append(e)
                        case "a": value.append("\u{07}")
                        case "b": value.append("\u{08}")
                        case "f": value.append("\u{0C}")
                        case "v": value.append("\u{0B}")
                        case "x", "u", "U":
                            let digits = e == "x" ? 2 : e == "u" ? 4 : 8
                            let hex = String(String.UnicodeScalarView(chars[(index + 1)..<min(index + 1 + digits, chars.count)]))
                            guard hex.count == digits, let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                                throw PromQLError("bad escape in string", column: index)
                            }
                            value.append(scalar)
                            index += digits
                        default:
                            throw PromQLError("unknown escape \\\(e) in string", column: index)
                        }
                        index += 1
                        continue
                    }
                    value.append(d)
                    index += 1
                }
                guard closed else { throw PromQLError("unterminated string", column: column) }
                result.append(Token(kind: .string(String(value)), column: column))
                continue
            }
            let rest = String(String.UnicodeScalarView(chars[index..<min(index + 2, chars.count)]))
            if let symbol = punctuation.first(where: { rest.hasPrefix($0) }) {
                result.append(Token(kind: .punct(symbol), column: column))
                index += symbol.unicodeScalars.count
                continue
            }
            throw PromQLError("unexpected character \"\(c)\"", column: column)
        }
        result.append(Token(kind: .end, column: chars.count + 1))
        return result
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    static func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }

    static func isDurationText(_ scalars: ArraySlice<Unicode.Scalar>) -> Bool {
        parseDuration(String(String.UnicodeScalarView(scalars))) != nil
    }

    static func parseNumber(_ word: String) -> Double? {
        if word.lowercased().hasPrefix("0x") { return UInt64(word.dropFirst(2), radix: 16).map(Double.init) }
        guard word.allSatisfy({ $0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-" }) else { return nil }
        return Double(word)
    }

    /// `5m`, `1h30m`, `100ms`, `2d`: milliseconds; nil when the word is not a duration.
    static func parseDuration(_ word: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000), ("y", 31_536_000_000)]
        var rest = Substring(word)
        var total: Int64 = 0
        var lastUnit = Int64.max
        guard let first = rest.first, first.isNumber else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) && !(rest.hasPrefix("m") && $0.0 == "m" && rest.hasPrefix("ms")) }) else { return nil }
            guard unit.1 < lastUnit else { return nil }
            lastUnit = unit.1
            let (scaled, overflow) = amount.multipliedReportingOverflow(by: unit.1)
            let (sum, overflowSum) = total.addingReportingOverflow(scaled)
            guard !overflow, !overflowSum else { return nil }
            total = sum
            rest = rest.dropFirst(unit.0.count)
        }
        return total
    }
}
