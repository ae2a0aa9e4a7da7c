/// A label-matcher regular expression, anchored at both ends as PromQL's are (RE2 syntax; the
/// constructs rule files use read the same in Swift's regex syntax).
///
/// Swift's `Regex`, not `NSRegularExpression`: Foundation's leaked the pattern's copy (about
/// 600 bytes) for every invalid pattern longer than 256 characters, so each reload of a bad
/// rule file leaked (found by the promql fuzz target's LeakSanitizer).
///
/// `@unchecked Sendable`: the regex is made once and only read; matching does not mutate it.
struct AnchoredRegex: @unchecked Sendable {
    let expression: Regex<AnyRegexOutput>

    init(_ pattern: String) throws(PromQLError) {
        do {
            expression = try Regex("(?:\(pattern))").dotMatchesNewlines()
        } catch {
            throw PromQLError("invalid regular expression \"\(pattern)\"")
        }
    }

    func matches(_ text: String) -> Bool {
        (try? expression.wholeMatch(in: text)) != nil
    }
}
