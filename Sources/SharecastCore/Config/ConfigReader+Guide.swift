import Yams

/// `epg_sources:`: each guide with its source, refresh interval and time shift.
extension ConfigReader {
    static let guideSourceKeys = ["name", "url", "file", "refresh_interval", "time_shift", "user_agent"]

    mutating func readGuideSources(_ node: Node) -> [GuideSourceConfig] {
        var result: [GuideSourceConfig] = []
        var names = Set<String>()
        for (index, item) in items(node, "epg_sources").enumerated() {
            let key = "epg_sources[\(index)]"
            guard let fields = pairs(item, key) else { continue }
            var guide = GuideSourceConfig(name: "", source: "")
            var valid = true
            for (field, keyNode, value) in fields {
                let full = "\(key).\(field)"
                switch field {
                case "name":
                    guard let name = readName(value, full, kind: "guide", names: &names) else { valid = false; continue }
                    guide.name = name
                case "url":
                    guard let url = scalarText(value, full, expecting: "expected an http(s) URL") else { valid = false; continue }
                    if let problem = ConfigSchema.validate(item: url, .url) { report(value, full, problem); valid = false }
                    guide.source = url
                case "file":
                    guard let path = scalarText(value, full, expecting: "expected a file path"), !path.isEmpty else { valid = false; continue }
                    guide.source = path
                case "refresh_interval":
                    guard let text = scalarText(value, full, expecting: "expected a duration such as 12h") else { valid = false; continue }
                    if let seconds = DurationText.seconds(text), seconds == 0 || (60...30 * 86_400).contains(seconds) {
                        guide.refreshInterval = .seconds(seconds)
                    } else {
                        report(value, full, "expected a duration from 1m to 30d (such as 6h, 1d) or 0 for only at start, got \(ConfigSchema.quoted(text))")
                        valid = false
                    }
                case "time_shift":
                    guard let text = scalarText(value, full, expecting: "expected a shift such as -2h or 30m") else { valid = false; continue }
                    let negative = text.hasPrefix("-")
                    let magnitude = negative || text.hasPrefix("+") ? String(text.dropFirst()) : text
                    guard let seconds = DurationText.seconds(magnitude), seconds <= 48 * 3600 else {
                        report(value, full, "expected a shift of at most 48h such as -2h, +1h30m or 0, got \(ConfigSchema.quoted(text))")
                        valid = false
                        continue
                    }
                    guide.timeShiftSeconds = negative ? -seconds : seconds
                case "user_agent":
                    guide.userAgent = scalarText(value, full, expecting: "expected a string")
                default:
                    unknownKey(keyNode, full, field, allowed: Self.guideSourceKeys)
                    valid = false
                }
            }
            let given = fields.filter { $0.name == "url" || $0.name == "file" }.count
            if !fields.contains(where: { $0.name == "name" }) { report(item, key, "missing required key \"name\""); valid = false }
            if given != 1 { report(item, key, "give one of url and file"); valid = false }
            if valid { result.append(guide) }
        }
        return result
    }
}
