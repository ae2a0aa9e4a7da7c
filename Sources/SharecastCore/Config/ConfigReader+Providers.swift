import Foundation
import Yams

/// `providers:`: each provider and its accounts, every field checked and reported at its line.
extension ConfigReader {
    static let providerKeys = ["name", "type", "server", "playlist", "accounts", "max_streams", "refresh_interval",
                               "user_agent", "headers", "zap_takeover", "epg"]
    static let accountKeys = ["username", "password", "password_file", "password_env", "max_streams", "match", "replace"]

    /// Provider names are the `provider` label of metrics: a short, plain word.
    static func isValidProviderName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count) && name.utf8.allSatisfy { ChannelID.isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    mutating func readProviders(_ node: Node) -> [ProviderConfig] {
        var result: [ProviderConfig] = []
        var names = Set<String>()
        for (index, item) in items(node, "providers").enumerated() {
            let key = "providers[\(index)]"
            guard let fields = pairs(item, key) else { continue }
            var provider = ProviderConfig(name: "", kind: .m3u)
            var valid = true
            var kind: ProviderConfig.Kind?
            var accountsNode: (Node, String)?
            var maxStreams: Int?
            for (field, keyNode, value) in fields {
                let full = "\(key).\(field)"
                switch field {
                case "name":
                    guard let name = readName(value, full, kind: "provider", names: &names) else { valid = false; continue }
                    provider.name = name
                case "type":
                    guard let text = scalarText(value, full, expecting: "expected xtream or m3u") else { valid = false; continue }
                    kind = ProviderConfig.Kind(rawValue: text)
                    if kind == nil { report(value, full, "expected xtream or m3u, got \(ConfigSchema.quoted(text))"); valid = false }
                case "server":
                    guard let text = scalarText(value, full, expecting: "expected the panel's http(s) URL") else { valid = false; continue }
                    if let problem = StreamURL.problem(text, allowingBuiltin: false) ?? (text.contains("?") ? "expected the panel's base URL without a query, got \(ConfigSchema.quoted(text))" : nil) {
                        report(value, full, problem)
                        valid = false
                    }
                    provider.server = String(text.trimmingSuffix("/"))
                case "playlist":
                    guard let text = scalarText(value, full, expecting: "expected a file path or an http(s) URL") else { valid = false; continue }
                    provider.playlist = text
                case "accounts":
                    accountsNode = (value, full)
                case "max_streams":
                    maxStreams = readCount(value, full)
                    if maxStreams == nil { valid = false }
                case "refresh_interval":
                    guard let text = scalarText(value, full, expecting: "expected a duration such as 12h") else { valid = false; continue }
                    if let seconds = DurationText.seconds(text), seconds == 0 || (60...30 * 86_400).contains(seconds) {
                        provider.refreshInterval = .seconds(seconds)
                    } else {
                        report(value, full, "expected a duration from 1m to 30d (such as 30m, 12h, 1d) or 0 for never, got \(ConfigSchema.quoted(text))")
                        valid = false
                    }
                case "user_agent":
                    provider.userAgent = scalarText(value, full, expecting: "expected a string")
                case "headers":
                    provider.headers = readHeaders(value, full)
                case "epg":
                    guard let guide = readProviderGuide(value, full) else { valid = false; continue }
                    provider.guide = guide
                case "zap_takeover":
                    guard let text = scalarText(value, full, expecting: "expected true or false") else { valid = false; continue }
                    switch text.lowercased() {
                    case "true", "yes", "on": provider.zapTakeover = true
                    case "false", "no", "off": provider.zapTakeover = false
                    default: report(value, full, "expected true or false, got \(ConfigSchema.quoted(text))"); valid = false
                    }
                default:
                    unknownKey(keyNode, full, field, allowed: Self.providerKeys)
                    valid = false
                }
            }
            for required in ["name", "type"] where !fields.contains(where: { $0.name == required }) {
                report(item, key, "missing required key \"\(required)\"")
                valid = false
            }
            guard let kind else { continue }
            provider.kind = kind
            switch kind {
            case .xtream:
                if !fields.contains(where: { $0.name == "server" }) { report(item, key, "missing required key \"server\" (the panel's base URL)"); valid = false }
                if fields.contains(where: { $0.name == "playlist" }) { report(item, key, "\"playlist\" is for type m3u; an xtream provider reads its channels from \"server\""); valid = false }
                if maxStreams != nil { report(item, key, "\"max_streams\" of an xtream provider is set per account (or read from the panel)"); valid = false }
                guard let (node, full) = accountsNode else {
                    report(item, key, "missing required key \"accounts\" (one or more logins)")
                    continue
                }
                let accounts = readAccounts(node, full, kind: .xtream)
                if accounts == nil { valid = false }
                provider.accounts = accounts ?? []
            case .m3u:
                if !fields.contains(where: { $0.name == "playlist" }) { report(item, key, "missing required key \"playlist\" (a file path or an http(s) URL)"); valid = false }
                if fields.contains(where: { $0.name == "server" }) { report(item, key, "\"server\" is for type xtream; an m3u provider reads \"playlist\""); valid = false }
                // The playlist's own login first, then the rewritten ones.
                var accounts = [ProviderAccount(maxStreams: maxStreams ?? 0)]
                if let (node, full) = accountsNode {
                    guard let more = readAccounts(node, full, kind: .m3u) else { valid = false; continue }
                    accounts += more
                }
                provider.accounts = accounts
            }
            if valid { result.append(provider) }
        }
        return result
    }

    /// A number of streams: 0 (no limit) to 1000.
    mutating func readCount(_ node: Node, _ key: String) -> Int? {
        guard let text = scalarText(node, key, expecting: "expected a number of streams") else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (0...1000).contains(value) else {
            report(node, key, "expected a number of streams from 0 (no limit) to 1000, got \(ConfigSchema.quoted(text))")
            return nil
        }
        return value
    }

    mutating func readHeaders(_ node: Node, _ key: String) -> [String: String] {
        guard let headerPairs = pairs(node, key) else { return [:] }
        var headers: [String: String] = [:]
        for (header, _, headerValue) in headerPairs {
            let headerKey = "\(key).\(header)"
            guard let text = scalarText(headerValue, headerKey, expecting: "expected a string") else { continue }
            if !HTTPHeaderName.isValid(header) || text.contains(where: { $0 == "\r" || $0 == "\n" }) {
                report(headerValue, headerKey, "not a valid HTTP header")
            } else {
                headers[header] = text
            }
        }
        return headers
    }

    /// The accounts of a provider; nil when any of them is wrong (each problem reported).
    mutating func readAccounts(_ node: Node, _ key: String, kind: ProviderConfig.Kind) -> [ProviderAccount]? {
        let list = items(node, key)
        if kind == .xtream, list.isEmpty {
            report(node, key, "expected at least one account")
            return nil
        }
        var result: [ProviderAccount] = []
        var valid = true
        for (index, item) in list.enumerated() {
            let accountKey = "\(key)[\(index)]"
            guard let fields = pairs(item, accountKey) else { valid = false; continue }
            var account = ProviderAccount()
            var match: String?, replace: String?
            var passwords = 0
            for (field, keyNode, value) in fields {
                let full = "\(accountKey).\(field)"
                switch field {
                case "username":
                    account.username = scalarText(value, full, expecting: "expected a user name") ?? ""
                    if account.username.isEmpty || account.username.contains(where: { $0 == "/" || $0.isWhitespace }) {
                        report(value, full, "expected a user name without '/' or spaces")
                        valid = false
                    }
                case "password", "password_file", "password_env":
                    passwords += 1
                    if let secret = readSecret(field, value, full) { account.password = secret } else { valid = false }
                case "max_streams":
                    account.maxStreams = readCount(value, full)
                    if account.maxStreams == nil { valid = false }
                case "match":
                    match = scalarText(value, full, expecting: "expected a regular expression")
                    if let pattern = match, (try? NSRegularExpression(pattern: pattern)) == nil {
                        report(value, full, "not a valid regular expression: \(ConfigSchema.quoted(pattern))")
                        valid = false
                    }
                case "replace":
                    replace = scalarText(value, full, expecting: "expected the replacement text")
                default:
                    unknownKey(keyNode, full, field, allowed: Self.accountKeys)
                    valid = false
                }
            }
            if passwords > 1 { report(item, accountKey, "give one of password, password_file and password_env"); valid = false }
            switch kind {
            case .xtream:
                if account.username.isEmpty, !fields.contains(where: { $0.name == "username" }) { report(item, accountKey, "missing required key \"username\""); valid = false }
                if passwords == 0 { report(item, accountKey, "missing the password: give password_file, password_env or password"); valid = false }
                if match != nil || replace != nil { report(item, accountKey, "\"match\" and \"replace\" are for m3u accounts"); valid = false }
            case .m3u:
                if let match, let replace {
                    account.rewrite = URLRewrite(match: match, replace: replace)
                } else {
                    report(item, accountKey, "an m3u account needs \"match\" and \"replace\": how the playlist's URLs become this login's")
                    valid = false
                }
            }
            result.append(account)
        }
        return valid ? result : nil
    }

    /// The name of a provider or user: a plain word (the metrics' label), used once. nil after
    /// reporting what is wrong.
    mutating func readName(_ value: Node, _ full: String, kind: String, names: inout Set<String>) -> String? {
        guard let name = scalarText(value, full, expecting: "expected a name") else { return nil }
        if !Self.isValidProviderName(name) {
            report(value, full, "expected letters, digits, '_' or '-' (at most 32), got \(ConfigSchema.quoted(name))")
            return nil
        }
        if !names.insert(name).inserted {
            report(value, full, "duplicate \(kind) name \(ConfigSchema.quoted(name))")
            return nil
        }
        return name
    }

    /// A secret given one of three ways, by the key it is under: `<key>` inline, `<key>_file` (the
    /// file's first line) or `<key>_env` (an environment variable). nil after reporting why not.
    mutating func readSecret(_ field: String, _ value: Node, _ full: String) -> Secret? {
        if field.hasSuffix("_file") {
            guard let path = scalarText(value, full, expecting: "expected a file path") else { return nil }
            switch secretFile(path) {
            case let .success(secret): return secret
            case let .failure(problem):
                report(value, full, problem)
                return nil
            }
        }
        if field.hasSuffix("_env") {
            guard let name = scalarText(value, full, expecting: "expected an environment variable's name") else { return nil }
            guard let text = environment[name], !text.isEmpty else {
                report(value, full, "environment variable \(name) is not set or empty")
                return nil
            }
            return Secret(text)
        }
        return scalarText(value, full, expecting: "expected a string").map(Secret.init)
    }

    /// A password kept in a file (Docker and systemd secrets): its first line, without the newline.
    func secretFile(_ path: String) -> Result<Secret, ConfigFieldProblem> {
        guard readsSecretFiles else { return .success(Secret("fuzz")) }
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(path, limit: 64 * 1024)
        } catch {
            return .failure(ConfigFieldProblem("cannot read \(path): \(error.reason)"))
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let line = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).first.map(String.init) ?? ""
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return .failure(ConfigFieldProblem("\(path) holds no password")) }
        return .success(Secret(trimmed))
    }
}

/// A message about one field, for `report`.
struct ConfigFieldProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ConfigReader {
    mutating func report(_ node: Node, _ key: String, _ problem: ConfigFieldProblem) {
        report(node, key, problem.description)
    }
}
