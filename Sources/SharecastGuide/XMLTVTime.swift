/// XMLTV times: `YYYYMMDDhhmmss +hhmm` (seconds, minutes and the offset may be left out; no
/// offset means UTC). All arithmetic stays in range for years 1900 to 2999, so no input can
/// overflow it.
public enum XMLTVTime {
    /// Seconds since 1970 (UTC), or nil for a malformed time.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var index = 0
        var digits: [Int] = []
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, digits.count < 14 {
            digits.append(Int(bytes[index] - 0x30))
            index += 1
        }
        guard [8, 10, 12, 14].contains(digits.count) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int {
            digits[from..<from + count].reduce(0) { $0 * 10 + $1 }
        }
        let year = number(0, 4), month = number(4, 2), day = number(6, 2)
        let hour = digits.count >= 10 ? number(8, 2) : 0
        let minute = digits.count >= 12 ? number(10, 2) : 0
        let second = digits.count >= 14 ? number(12, 2) : 0
        guard (1900...2999).contains(year), (1...12).contains(month), (1...daysIn(month, year)).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        while index < bytes.count, bytes[index] == 0x20 { index += 1 }
        var offset = 0
        if index < bytes.count {
            let sign = bytes[index]
            guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), bytes.count - index == 5 else {
                // "GMT", "UTC", "Z" are UTC; anything else is malformed.
                let zone = String(decoding: bytes[index...], as: UTF8.self)
                guard ["GMT", "UTC", "Z"].contains(zone) else { return nil }
                return Int64(seconds(year, month, day, hour, minute, second))
            }
            let zone = bytes[(index + 1)...].map { Int($0) - 0x30 }
            guard zone.allSatisfy({ (0...9).contains($0) }) else { return nil }
            let hours = zone[0] * 10 + zone[1], minutes = zone[2] * 10 + zone[3]
            guard hours <= 14, minutes < 60 else { return nil }
            offset = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        return Int64(seconds(year, month, day, hour, minute, second) - offset)
    }

    /// `YYYYMMDDhhmmss +0000`.
    public static func format(_ seconds: Int64) -> String {
        var days = Int(seconds / 86_400), rest = Int(seconds % 86_400)
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)\(two(month))\(two(day))\(two(rest / 3600))\(two(rest / 60 % 60))\(two(rest % 60)) +0000"
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func seconds(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Int {
        days(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func days(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
