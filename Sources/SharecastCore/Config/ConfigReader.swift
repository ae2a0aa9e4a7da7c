import Yams

/// Walks a composed YAML tree into `SharecastConfig`, collecting an issue with `file:line:column`
/// for every unknown key, wrong type and out-of-range value instead of stopping at the first.
struct ConfigReader {
    let file: String
    var issues: [ConfigIssue] = []
    /// Where `password_env` looks.
    let environment: [String: String]
    /// Whether `password_file` is read (the fuzz target turns it off: a file named by random
    /// input could be a FIFO that never ends).
    let readsSecretFiles: Bool

    init(file: String, environment: [String: String] = [:], readsSecretFiles: Bool = true) {
        self.file = file
        self.environment = environment
        self.readsSecretFiles = readsSecretFiles
    }

    func location(_ node: Node) -> String {
        guard let mark = node.mark else { return file }
        return "\(file):\(mark.line):\(mark.column)"
    }

    mutating func report(_ node: Node, _ key: String, _ message: String) {
        issues.append(ConfigIssue(location: location(node), key: key, message: message))
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case let .scalar(scalar): isNull(scalar) ? "nothing" : ConfigSchema.quoted(scalar.string)
        }
    }

    static func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The scalar text of `node`, or nil after reporting what was found instead.
    mutating func scalarText(_ node: Node, _ key: String, expecting: String) -> String? {
        guard case let .scalar(scalar) = node, !Self.isNull(scalar) else {
            report(node, key, "\(expecting), got \(Self.describe(node))")
            return nil
        }
        return scalar.string
    }

    /// The key/value pairs of a mapping, with duplicate and non-string keys reported and dropped.
    mutating func pairs(_ node: Node, _ key: String) -> [(name: String, keyNode: Node, value: Node)]? {
        guard case let .mapping(mapping) = node else {
            report(node, key, "expected a mapping, got \(Self.describe(node))")
            return nil
        }
        var seen = Set<String>()
        var result: [(name: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case let .scalar(scalar) = keyNode else {
                report(keyNode, key, "keys must be plain strings")
                continue
            }
            let full = key.isEmpty ? scalar.string : "\(key).\(scalar.string)"
            guard seen.insert(scalar.string).inserted else {
                report(keyNode, full, "duplicate key")
                continue
            }
            result.append((scalar.string, keyNode, value))
        }
        return result
    }

    mutating func unknownKey(_ keyNode: Node, _ full: String, _ name: String, allowed: [String]) {
        var message = "unknown key"
        if let guess = allowed.min(by: { editDistance($0, name) < editDistance($1, name) }), editDistance(guess, name) <= 2 {
            message += " (did you mean \"\(guess)\"?)"
        }
        report(keyNode, full, message)
    }

    mutating func readSection(_ node: Node, path: String, into config: inout SharecastConfig) {
        if case let .scalar(scalar) = node, path.isEmpty, Self.isNull(scalar) { return }
        guard let pairs = pairs(node, path) else { return }
        for (name, keyNode, value) in pairs {
            let full = path.isEmpty ? name : "\(path).\(name)"
            if let setting = ConfigSchema.setting(full), case let .list(keyPath, check) = setting.kind {
                readList(value, full, keyPath, check, into: &config)
            } else if let setting = ConfigSchema.setting(full) {
                guard let raw = scalarText(value, full, expecting: expectation(of: setting)) else { continue }
                if let problem = ConfigSchema.apply(raw, to: setting, in: &config) {
                    report(value, full, problem)
                }
            } else if ConfigSchema.sections.contains(full) {
                readSection(value, path: full, into: &config)
            } else if full == "playlists" {
                config.playlists = readPlaylists(value)
            } else if full == "channels" {
                config.channels = readChannels(value)
            } else if full == "providers" {
                config.providers = readProviders(value)
            } else if full == "users" {
                config.users = readUsers(value)
            } else if full == "epg_sources" {
                config.epgSources = readGuideSources(value)
            } else if full == "epg.mappings" {
                config.epg.mappings = readGuideMappings(value)
            } else if full == "hdhomerun.lineups" {
                config.hdhomerun.lineups = readLineups(value)
            } else {
                unknownKey(keyNode, full, name, allowed: ConfigSchema.keys(under: path))
            }
        }
    }

    /// A list setting: each item checked and reported at its own line.
    mutating func readList(_ node: Node, _ key: String, _ keyPath: WritableKeyPath<SharecastConfig, [String]>,
                           _ check: ConfigSchema.ItemCheck, into config: inout SharecastConfig) {
        var values: [String] = []
        for (index, item) in items(node, key).enumerated() {
            let itemKey = "\(key)[\(index)]"
            guard let text = scalarText(item, itemKey, expecting: "expected a string") else { continue }
            if let problem = ConfigSchema.validate(item: text, check) {
                report(item, itemKey, problem)
            } else {
                values.append(text)
            }
        }
        config[keyPath: keyPath] = values
    }

    func expectation(of setting: ConfigSchema.Setting) -> String {
        switch setting.kind {
        case .list: "expected a list"
        case let .int(_, _, expectation): expectation
        case .bool: "expected true or false"
        case .lagPolicy: "expected disconnect or skip"
        case .string: "expected a string"
        }
    }

    /// The items of a list; a missing or null list is empty.
    mutating func items(_ node: Node, _ key: String) -> [Node] {
        if case let .scalar(scalar) = node, Self.isNull(scalar) { return [] }
        guard case let .sequence(sequence) = node else {
            report(node, key, "expected a list, got \(Self.describe(node))")
            return []
        }
        return Array(sequence)
    }

    mutating func readPlaylists(_ node: Node) -> [PlaylistSource] {
        var result: [PlaylistSource] = []
        var names = Set<String>()
        for (index, item) in items(node, "playlists").enumerated() {
            let key = "playlists[\(index)]"
            guard let fields = pairs(item, key) else { continue }
            var name: String?, source: String?, userAgent: String?
            for (field, keyNode, value) in fields {
                let full = "\(key).\(field)"
                switch field {
                case "name":
                    name = scalarText(value, full, expecting: "expected a name")
                    if let given = name, !ChannelID.isValid(given) {
                        report(value, full, "expected letters, digits, '.', '_' or '-' (at most 64), got \(ConfigSchema.quoted(given))")
                        name = nil
                    } else if let given = name, !names.insert(given).inserted {
                        report(value, full, "duplicate playlist name \(ConfigSchema.quoted(given))")
                        name = nil
                    }
                case "source":
                    source = scalarText(value, full, expecting: "expected a file path or an http(s) URL")
                case "user_agent":
                    userAgent = scalarText(value, full, expecting: "expected a string")
                default:
                    unknownKey(keyNode, full, field, allowed: ["name", "source", "user_agent"])
                }
            }
            if name == nil, !fields.contains(where: { $0.name == "name" }) { report(item, key, "missing required key \"name\"") }
            if source == nil, !fields.contains(where: { $0.name == "source" }) { report(item, key, "missing required key \"source\"") }
            if let name, let source {
                result.append(PlaylistSource(name: name, source: source, userAgent: userAgent))
            }
        }
        return result
    }

    mutating func readChannels(_ node: Node) -> [ChannelDefinition] {
        var result: [ChannelDefinition] = []
        var ids = Set<String>()
        let allowed = ["id", "name", "group", "number", "urls", "logo", "tvg_id", "user_agent", "headers"]
        var numbers: [Int: String] = [:]
        for (index, item) in items(node, "channels").enumerated() {
            let key = "channels[\(index)]"
            guard let fields = pairs(item, key) else { continue }
            var channel = ChannelDefinition(id: "", name: "", urls: [])
            var valid = true
            for (field, keyNode, value) in fields {
                let full = "\(key).\(field)"
                switch field {
                case "id":
                    guard let id = scalarText(value, full, expecting: "expected a channel id") else { valid = false; continue }
                    if !ChannelID.isValid(id) {
                        report(value, full, "expected letters, digits, '.', '_' or '-' (at most 64), got \(ConfigSchema.quoted(id))")
                        valid = false
                    } else if !ids.insert(id).inserted {
                        report(value, full, "duplicate channel id \(ConfigSchema.quoted(id))")
                        valid = false
                    }
                    channel.id = id
                case "name": channel.name = scalarText(value, full, expecting: "expected a string") ?? ""
                case "group": channel.group = scalarText(value, full, expecting: "expected a string") ?? ""
                case "logo": channel.logo = scalarText(value, full, expecting: "expected a URL")
                case "tvg_id": channel.tvgID = scalarText(value, full, expecting: "expected a string")
                case "number":
                    guard let text = scalarText(value, full, expecting: "expected a channel number") else { valid = false; continue }
                    guard let number = Int(text), ChannelNumber.range.contains(number) else {
                        report(value, full, "expected a channel number from 1 to \(ChannelNumber.range.upperBound), got \(ConfigSchema.quoted(text))")
                        valid = false
                        continue
                    }
                    if let other = numbers[number] {
                        report(value, full, "channel number \(number) is already channel \(ConfigSchema.quoted(other))'s")
                        valid = false
                    }
                    numbers[number] = channel.id.isEmpty ? "channels[\(index)]" : channel.id
                    channel.number = number
                case "user_agent": channel.userAgent = scalarText(value, full, expecting: "expected a string")
                case "urls":
                    let list = items(value, full)
                    if list.isEmpty { report(value, full, "expected at least one URL"); valid = false }
                    for (position, urlNode) in list.enumerated() {
                        let urlKey = "\(full)[\(position)]"
                        guard let url = scalarText(urlNode, urlKey, expecting: "expected an http(s) URL or builtin:testpattern") else {
                            valid = false
                            continue
                        }
                        if let problem = StreamURL.problem(url) {
                            report(urlNode, urlKey, problem)
                            valid = false
                        } else {
                            channel.urls.append(url)
                        }
                    }
                case "headers":
                    channel.headers = readHeaders(value, full)
                default:
                    unknownKey(keyNode, full, field, allowed: allowed)
                }
            }
            if !fields.contains(where: { $0.name == "id" }) { report(item, key, "missing required key \"id\""); valid = false }
            if !fields.contains(where: { $0.name == "urls" }) { report(item, key, "missing required key \"urls\""); valid = false }
            if channel.name.isEmpty { channel.name = channel.id }
            if valid { result.append(channel) }
        }
        return result
    }
}

/// Levenshtein distance, for "did you mean" hints on short keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
