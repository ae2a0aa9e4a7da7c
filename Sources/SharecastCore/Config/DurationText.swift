/// Durations as the configuration writes them: `90` (seconds), `90s`, `30m`, `12h`, `7d`, or
/// several parts (`1h30m`). Every part is checked, so `99999999999999999999h` is an error rather
/// than an overflow.
public enum DurationText {
    /// The number of seconds, or nil when `text` is not a duration.
    public static func seconds(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if let plain = Int(text) { return plain >= 0 ? plain : nil }
        var total = 0
        var digits = ""
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            default: return nil
            }
            guard let value = Int(digits) else { return nil }
            let (part, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            let (sum, overflowed) = total.addingReportingOverflow(part)
            guard !overflowed else { return nil }
            total = sum
            digits = ""
        }
        return digits.isEmpty ? total : nil
    }
}
