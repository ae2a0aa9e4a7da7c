import Foundation

/// Dates as HTTP writes them (RFC 9110's IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"): in
/// response heads, `Last-Modified` and the stand-ins' validators. Made from `gmtime_r` with fixed
/// English names, so no formatter is built per request and no locale can change the text.
public enum HTTPDate {
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func string(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var time = seconds.isFinite ? time_t(clamping: Int64(exactly: seconds.rounded(.down)) ?? 0) : 0
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil, days.indices.contains(Int(parts.tm_wday)), months.indices.contains(Int(parts.tm_mon)) else {
            return "Thu, 01 Jan 1970 00:00:00 GMT"
        }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
