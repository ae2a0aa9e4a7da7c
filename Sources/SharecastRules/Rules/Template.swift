import Foundation

/// The subset of Go's text/template that alert annotations use: text with `{{ }}` actions whose
/// pipelines read `$labels.name`, `$value`, `$externalLabels.name`, `.Labels.name`, `.Value`,
/// literals, and call `humanize`, `humanize1024`, `humanizeDuration`, `humanizePercentage`,
/// `printf`, `toUpper`, `toLower`, `title`. Output matches Prometheus' to the character for these.
struct Template: Sendable {
    enum Operand: Sendable {
        case value
        case label(String)
        case externalLabel(String)
        case string(String)
        case number(Double)
    }

    struct Command: Sendable {
        var function: String?
        var arguments: [Operand]
    }

    enum Part: Sendable {
        case text(String)
        case pipeline([Command])
    }

    static let functions: Set<String> = ["humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "printf", "toUpper", "toLower", "title"]

    let parts: [Part]

    init(_ source: String) throws(PromQLError) {
        var parts: [Part] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            var text = String(rest[..<open.lowerBound])
            var inner = rest[open.upperBound...]
            if inner.hasPrefix("-") {
                text = String(text.reversed().drop { $0.isWhitespace }.reversed())
                inner = inner.dropFirst()
            }
            if !text.isEmpty { parts.append(.text(text)) }
            guard let close = inner.range(of: "}}") else { throw PromQLError("unclosed action in template") }
            var action = inner[..<close.lowerBound]
            rest = inner[close.upperBound...]
            if action.hasSuffix("-") {
                action = action.dropLast()
                rest = rest.drop { $0.isWhitespace }
            }
            parts.append(.pipeline(try Self.pipeline(String(action))))
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    static func pipeline(_ action: String) throws(PromQLError) -> [Command] {
        let trimmed = action.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("/*") { return [] }
        for keyword in ["if", "range", "with", "define", "template", "block", "end", "else"] where trimmed.hasPrefix(keyword + " ") || trimmed == keyword {
            throw PromQLError("template action \"\(keyword)\" is not supported")
        }
        if trimmed.contains(":=") { throw PromQLError("template variables are not supported") }
        var commands: [Command] = []
        for segment in splitOutsideQuotes(trimmed, "|") {
            let words = try tokenize(segment)
            guard let first = words.first else { throw PromQLError("empty command in template") }
            if case let .string(name) = first.kind, first.bare, !name.hasPrefix("$"), !name.hasPrefix(".") {
                guard functions.contains(name) else { throw PromQLError("template function \"\(name)\" is not supported") }
                commands.append(Command(function: name, arguments: try words.dropFirst().map(operand)))
            } else {
                guard words.count == 1 else { throw PromQLError("unexpected arguments in template action \"\(trimmed)\"") }
                commands.append(Command(function: nil, arguments: [try operand(words[0])]))
            }
        }
        return commands
    }

    struct Word {
        enum Kind { case string(String), number(Double) }
        var kind: Kind
        /// A bare word (function name or variable), not a quoted string.
        var bare: Bool
    }

    static func operand(_ word: Word) throws(PromQLError) -> Operand {
        switch word.kind {
        case let .number(value): return .number(value)
        case let .string(text) where !word.bare: return .string(text)
        case let .string(text):
            if text == "$value" || text == ".Value" { return .value }
            for prefix in ["$labels.", ".Labels."] where text.hasPrefix(prefix) { return .label(String(text.dropFirst(prefix.count))) }
            for prefix in ["$externalLabels.", ".ExternalLabels."] where text.hasPrefix(prefix) { return .externalLabel(String(text.dropFirst(prefix.count))) }
            throw PromQLError("unsupported template operand \"\(text)\"")
        }
    }

    static func tokenize(_ text: String) throws(PromQLError) -> [Word] {
        var words: [Word] = []
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace { index = text.index(after: index); continue }
            if character == "\"" || character == "`" {
                var value = ""
                var cursor = text.index(after: index)
                var closed = false
                while cursor < text.endIndex {
                    let c = text[cursor]
                    if c == character { closed = true; cursor = text.index(after: cursor); break }
                    if c == "\\", character == "\"" {
                        cursor = text.index(after: cursor)
                        guard cursor < text.endIndex else { break }
                        switch text[cursor] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        default: value.append(text[cursor])
                        }
                    } else {
                        value.append(c)
                    }
                    cursor = text.index(after: cursor)
                }
                guard closed else { throw PromQLError("unterminated string in template") }
                words.append(Word(kind: .string(value), bare: false))
                index = cursor
                continue
            }
            var end = index
            while end < text.endIndex, !text[end].isWhitespace { end = text.index(after: end) }
            let word = String(text[index..<end])
            if let number = Double(word) {
                words.append(Word(kind: .number(number), bare: true))
            } else {
                words.append(Word(kind: .string(word), bare: true))
            }
            index = end
        }
        return words
    }

    static func splitOutsideQuotes(_ text: String, _ separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "`" {
                quote = character
            } else if character == separator {
                parts.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        parts.append(current)
        return parts
    }

    enum Datum {
        case number(Double)
        case text(String)

        var asText: String {
            switch self {
            case let .number(value): GoFormat.value(value)
            case let .text(text): text
            }
        }
    }

    func expand(labels: Labels, value: Double, externalLabels: Labels = [:]) -> String {
        var output = ""
        for part in parts {
            switch part {
            case let .text(text): output += text
            case let .pipeline(commands):
                var previous: Datum?
                for command in commands {
                    var arguments = command.arguments.map { operand -> Datum in
                        switch operand {
                        case .value: .number(value)
                        case let .label(name): .text(labels[name] ?? "<no value>")
                        case let .externalLabel(name): .text(externalLabels[name] ?? "<no value>")
                        case let .string(text): .text(text)
                        case let .number(number): .number(number)
                        }
                    }
                    if let previous { arguments.append(previous) }
                    previous = Self.call(command.function, arguments)
                }
                output += previous?.asText ?? ""
            }
        }
        return output
    }

    static func number(_ datum: Datum) -> Double {
        switch datum {
        case let .number(value): value
        case let .text(text): Double(text) ?? .nan
        }
    }

    static func call(_ function: String?, _ arguments: [Datum]) -> Datum {
        guard let function else { return arguments.first ?? .text("") }
        let first = arguments.first ?? .text("")
        switch function {
        case "humanize": return .text(GoFormat.humanize(number(first)))
        case "humanize1024": return .text(GoFormat.humanize1024(number(first)))
        case "humanizeDuration": return .text(GoFormat.humanizeDuration(number(first)))
        case "humanizePercentage": return .text(GoFormat.g(number(first) * 100, 4) + "%")
        case "toUpper": return .text(first.asText.uppercased())
        case "toLower": return .text(first.asText.lowercased())
        case "title": return .text(first.asText.capitalized)
        case "printf":
            guard case let .text(format) = first else { return .text("") }
            return .text(GoFormat.printf(format, Array(arguments.dropFirst())))
        default: return .text("")
        }
    }
}

/// Go's number formatting where templates and Prometheus' API shapes need it.
public enum GoFormat {
    /// strconv's 'e' format with the shortest digits (`1e+00`, `2.5e-03`), as Prometheus writes
    /// alert values in its API.
    public static func exponent(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == 0 { return "0e+00" }
        let (digits, exponent) = shortest(v)
        let mantissa = digits.count > 1 ? String(digits.prefix(1)) + "." + digits.dropFirst() : digits
        return (v < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + (abs(exponent) < 10 ? "0" : "") + "\(abs(exponent))"
    }

    /// `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e6 (strconv's
    /// 'g' with the shortest precision).
    static func value(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (digits, exponent) = shortest(v)
        let sign = v < 0 ? "-" : ""
        if exponent < -4 || exponent >= 6 {
            var mantissa = String(digits.prefix(1))
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (abs(exponent) < 10 ? "0" : "") + String(abs(exponent))
        }
        if exponent < 0 { return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits }
        if digits.count <= exponent + 1 { return sign + digits + String(repeating: "0", count: exponent + 1 - digits.count) }
        let point = digits.index(digits.startIndex, offsetBy: exponent + 1)
        return sign + digits[..<point] + "." + digits[point...]
    }

    /// The shortest round-trip digits of |v| and its decimal exponent (d.ddd × 10^exponent).
    static func shortest(_ v: Double) -> (String, Int) {
        let text = "\(abs(v))"
        var mantissa = text, exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(text[..<e])
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integer + fraction
        var pointExponent = integer.count - 1 + exponent
        let leadingZeros = digits.prefix { $0 == "0" }.count
        digits.removeFirst(leadingZeros)
        pointExponent -= leadingZeros
        while digits.hasSuffix("0") { digits.removeLast() }
        return (digits.isEmpty ? "0" : digits, pointExponent)
    }

    /// `%.Ng`, which Go and C render alike (correct rounding, trailing zeros dropped).
    static func g(_ v: Double, _ precision: Int) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        return String(format: "%.\(precision)g", v)
    }

    static func humanize(_ input: Double) -> String {
        var v = input
        if v == 0 || v.isNaN || v.isInfinite { return g(v, 4) }
        if abs(v) >= 1 {
            var prefix = ""
            for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                if abs(v) < 1000 { break }
                prefix = p
                v /= 1000
            }
            return g(v, 4) + prefix
        }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return g(v, 4) + prefix
    }

    static func humanize1024(_ input: Double) -> String {
        var v = input
        if abs(v) <= 1 || v.isNaN || v.isInfinite { return g(v, 4) }
        var prefix = ""
        for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
            if abs(v) < 1024 { break }
            prefix = p
            v /= 1024
        }
        return g(v, 4) + prefix
    }

    static func humanizeDuration(_ input: Double) -> String {
        var v = input
        if v.isNaN || v.isInfinite { return g(v, 4) }
        if v == 0 { return g(v, 4) + "s" }
        if abs(v) >= 1 {
            var sign = ""
            if v < 0 { sign = "-"; v = -v }
            // Go converts an out-of-range float to the minimum int64 on amd64; do the same rather than trap.
            let duration = v < 9.223372036854775807e18 ? Int64(v) : Int64.min
            let seconds = duration % 60, minutes = (duration / 60) % 60, hours = (duration / 3600) % 24, days = duration / 86_400
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return sign + g(v, 4) + "s"
        }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return g(v, 4) + prefix + "s"
    }

    /// Go's printf for the verbs templates use: %s %v %d %f %e %g with width/precision, %%.
    static func printf(_ format: String, _ arguments: [Template.Datum]) -> String {
        var output = ""
        var argumentIndex = 0
        var index = format.startIndex
        while index < format.endIndex {
            let character = format[index]
            guard character == "%" else {
                output.append(character)
                index = format.index(after: index)
                continue
            }
            var spec = ""
            var cursor = format.index(after: index)
            while cursor < format.endIndex, "0123456789.-+ #".contains(format[cursor]) {
                spec.append(format[cursor])
                cursor = format.index(after: cursor)
            }
            guard cursor < format.endIndex else { output += "%!(NOVERB)"; break }
            let verb = format[cursor]
            index = format.index(after: cursor)
            if verb == "%" { output += "%"; continue }
            guard argumentIndex < arguments.count else { output += "%!\(verb)(MISSING)"; continue }
            let argument = arguments[argumentIndex]
            argumentIndex += 1
            switch (verb, argument) {
            case (_, .text(let text)) where verb == "s" || verb == "v":
                output += String(format: "%\(spec)@", text as NSString)
            case (_, .number(let number)) where verb == "v":
                output += value(number)
            case (_, .number(let number)) where "fFeEgG".contains(verb):
                output += number.isFinite ? String(format: "%\(spec)\(verb)", number) : (number.isNaN ? "NaN" : number > 0 ? "+Inf" : "-Inf")
            case (_, .number(let number)) where verb == "d":
                output += "%!d(float64=\(value(number)))"
            case (_, .text(let text)):
                output += "%!\(verb)(string=\(text))"
            case (_, .number(let number)):
                output += "%!\(verb)(float64=\(value(number)))"
            }
        }
        if argumentIndex < arguments.count {
            output += "%!(EXTRA " + arguments[argumentIndex...].map { datum -> String in
                switch datum {
                case let .number(number): "float64=\(value(number))"
                case let .text(text): "string=\(text)"
                }
            }.joined(separator: ", ") + ")"
        }
        return output
    }
}
