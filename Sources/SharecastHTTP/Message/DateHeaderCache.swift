import Foundation
import SharecastSync

/// The `Date` header's text for the current second, made once per second rather than per
/// response: stream heads are written on the join's way to its first byte.
final class DateHeaderCache: Sendable {
    private let current = Locked<(second: Int64, text: String)>((-1, ""))

    func text(now: Date = Date()) -> String {
        let seconds = now.timeIntervalSince1970
        let second = seconds.isFinite ? Int64(exactly: seconds.rounded(.down)) ?? 0 : 0
        if let cached = current.withLock({ $0.second == second ? $0.text : nil }) { return cached }
        let text = HTTPDate.string(now)
        current.withLock { $0 = (second, text) }
        return text
    }
}
