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
                case "url", "file":
                    guard let location = readGuideLocation(field, value, full) else { valid = false; continue }
                    guide.source = location
                case "refresh_interval":
                    guard let interval = readGuideInterval(value, full) else { valid = false; continue }
                    guide.refreshInterval = interval
                case "time_shift":
                    guard let shift = readTimeShift(value, full) else { valid = false; continue }
                    guide.timeShiftSeconds = shift
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

    /// A guide's `url` (an http(s) URL) or `file` (a path).
    mutating func readGuideLocation(_ field: String, _ value: Node, _ full: String) -> String? {
        if field == "url" {
            guard let url = scalarText(value, full, expecting: "expected an http(s) URL") else { return nil }
            if let problem = ConfigSchema.validate(item: url, .url) {
                report(value, full, problem)
                return nil
            }
            return url
        }
        guard let path = scalarText(value, full, expecting: "expected a file path"), !path.isEmpty else { return nil }
        return path
    }

    mutating func readGuideInterval(_ value: Node, _ full: String) -> Duration? {
        guard let text = scalarText(value, full, expecting: "expected a duration such as 12h") else { return nil }
        guard let seconds = DurationText.seconds(text), seconds == 0 || (60...30 * 86_400).contains(seconds) else {
            report(value, full, "expected a duration from 1m to 30d (such as 6h, 1d) or 0 for only at start, got \(ConfigSchema.quoted(text))")
            return nil
        }
        return .seconds(seconds)
    }

    /// A signed shift of at most 48 hours ("-2h", "+1h30m", "0").
    mutating func readTimeShift(_ value: Node, _ full: String) -> Int? {
        guard let text = scalarText(value, full, expecting: "expected a shift such as -2h or 30m") else { return nil }
        let negative = text.hasPrefix("-")
        let magnitude = negative || text.hasPrefix("+") ? String(text.dropFirst()) : text
        guard let seconds = DurationText.seconds(magnitude), seconds <= 48 * 3600 else {
            report(value, full, "expected a shift of at most 48h such as -2h, +1h30m or 0, got \(ConfigSchema.quoted(text))")
            return nil
        }
        return negative ? -seconds : seconds
    }

    static let providerGuideKeys = ["url", "file", "refresh_interval", "time_shift"]

    /// `providers[].epg`: `false` (none), `auto`, a URL or file path, or a mapping of `url` or
    /// `file` (neither: automatic), `refresh_interval` and `time_shift`.
    mutating func readProviderGuide(_ node: Node, _ key: String) -> ProviderGuide? {
        var guide = ProviderGuide()
        if case let .scalar(scalar) = node {
            let text = scalar.string
            switch text.lowercased() {
            case "false", "no", "off", "none": guide.location = .none
            case "true", "yes", "on", "auto": guide.location = .automatic
            default:
                guard !text.isEmpty else { report(node, key, "expected false, auto, a URL or a file path"); return nil }
                guard let location = readGuideLocation(GuideSourceConfig.isRemote(text) ? "url" : "file", node, key) else { return nil }
                guide.location = .given(location)
            }
            return guide
        }
        guard let fields = pairs(node, key) else { return nil }
        var valid = true
        for (field, keyNode, value) in fields {
            let full = "\(key).\(field)"
            switch field {
            case "url", "file":
                guard let location = readGuideLocation(field, value, full) else { valid = false; continue }
                guide.location = .given(location)
            case "refresh_interval":
                guard let interval = readGuideInterval(value, full) else { valid = false; continue }
                guide.refreshInterval = interval
            case "time_shift":
                guard let shift = readTimeShift(value, full) else { valid = false; continue }
                guide.timeShiftSeconds = shift
            default:
                unknownKey(keyNode, full, field, allowed: Self.providerGuideKeys)
                valid = false
            }
        }
        if fields.filter({ $0.name == "url" || $0.name == "file" }).count > 1 { report(node, key, "give at most one of url and file"); valid = false }
        return valid ? guide : nil
    }

    /// `epg.mappings`: catalog channel id or number to a guide channel id ("" for none).
    mutating func readGuideMappings(_ node: Node) -> [String: String] {
        guard let fields = pairs(node, "epg.mappings") else { return [:] }
        var result: [String: String] = [:]
        for (channel, _, value) in fields {
            let full = "epg.mappings.\(channel)"
            guard let guideID = scalarText(value, full, expecting: "expected a guide channel id (\"\" for none)") else { continue }
            result[channel] = guideID
        }
        return result
    }
}
