import Foundation

/// A label-matcher regular expression, anchored at both ends as PromQL's are (RE2 syntax; the
/// constructs rule files use are the same in ICU).
///
/// `@unchecked Sendable`: `NSRegularExpression` is immutable once made and documented as safe to
/// use from several threads at once.
struct AnchoredRegex: @unchecked Sendable {
    let expression: NSRegularExpression

    init(_ pattern: String) throws(PromQLError) {
        do {
            expression = try NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.dotMatchesLineSeparators])
        } catch {
            throw PromQLError("invalid regular expression \"\(pattern)\"")
        }
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
