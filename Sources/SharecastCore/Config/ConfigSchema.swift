import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The scalar settings of `SharecastConfig`, each with its YAML path, its environment variable and
/// its validation, declared once so that the file, the environment and flags are checked alike.
enum ConfigSchema {
    enum Kind {
        case string(WritableKeyPath<SharecastConfig, String>, StringCheck)
        case int(WritableKeyPath<SharecastConfig, Int>, ClosedRange<Int>, expectation: String)
        case bool(WritableKeyPath<SharecastConfig, Bool>)
        case lagPolicy(WritableKeyPath<SharecastConfig, LagPolicy>)
        /// A YAML list of strings; in the environment and flags, comma-separated.
        case list(WritableKeyPath<SharecastConfig, [String]>, ItemCheck)
    }

    enum ItemCheck: Equatable {
        /// An API token: at least 16 characters, no whitespace.
        case token
        /// An IP address or CIDR network.
        case cidr
        /// A file path or glob.
        case path
        /// An http(s) URL.
        case url
    }

    enum StringCheck: Equatable {
        case any
        case nonEmpty
        case listenAddress
        case baseURL
        case tokenOrEmpty
        /// Shown by media servers: 1 to 64 printable characters.
        case deviceText
    }

    struct Setting {
        let path: String
        let kind: Kind

        /// `server.port` is `SHARECAST_SERVER_PORT`.
        var environmentName: String {
            "SHARECAST_" + path.uppercased().replacingOccurrences(of: ".", with: "_")
        }
    }

    static let positive = "expected a positive integer"
    static let nonNegative = "expected a non-negative integer"

    static var settings: [Setting] {
        [
            Setting(path: "server.listen", kind: .string(\.server.listen, .listenAddress)),
            Setting(path: "server.port", kind: .int(\.server.port, 0...65535, expectation: "expected a port number from 0 to 65535")),
            Setting(path: "server.public_base_url", kind: .string(\.server.publicBaseURL, .baseURL)),
            Setting(path: "server.max_connections_per_address", kind: .int(\.server.maxConnectionsPerAddress, 0...1_000_000, expectation: "expected a number of connections, 0 for no cap")),
            Setting(path: "server.idle_timeout", kind: .int(\.server.idleTimeout, 1...86_400, expectation: positive)),
            Setting(path: "database.path", kind: .string(\.database.path, .nonEmpty)),
            Setting(path: "shared_streaming.enabled", kind: .bool(\.sharedStreaming.enabled)),
            Setting(path: "shared_streaming.buffer_path", kind: .string(\.sharedStreaming.bufferPath, .nonEmpty)),
            Setting(path: "shared_streaming.max_concurrent_streams", kind: .int(\.sharedStreaming.maxConcurrentStreams, 1...100_000, expectation: positive)),
            Setting(path: "shared_streaming.client_timeout", kind: .int(\.sharedStreaming.clientTimeout, 1...86_400 * 7, expectation: positive)),
            Setting(path: "shared_streaming.buffer_size", kind: .int(\.sharedStreaming.bufferSize, 65_536...1_073_741_824, expectation: "expected a size in bytes from 65536 to 1073741824")),
            Setting(path: "shared_streaming.grace_period", kind: .int(\.sharedStreaming.gracePeriod, 0...3600, expectation: "expected seconds from 0 to 3600")),
            Setting(path: "shared_streaming.zap_wait", kind: .int(\.sharedStreaming.zapWait, 0...60, expectation: "expected seconds from 0 to 60")),
            Setting(path: "shared_streaming.lag_policy", kind: .lagPolicy(\.sharedStreaming.lagPolicy)),
            Setting(path: "shared_streaming.direct_delivery", kind: .bool(\.sharedStreaming.directDelivery)),
            Setting(path: "shared_streaming.join_backlog", kind: .int(\.sharedStreaming.joinBacklog, 0...30, expectation: "expected seconds from 0 to 30")),
            Setting(path: "shared_streaming.upstream.max_attempts", kind: .int(\.sharedStreaming.upstream.maxAttempts, 1...1000, expectation: positive)),
            Setting(path: "shared_streaming.upstream.connect_timeout", kind: .int(\.sharedStreaming.upstream.connectTimeout, 1...600, expectation: positive)),
            Setting(path: "shared_streaming.upstream.stall_timeout", kind: .int(\.sharedStreaming.upstream.stallTimeout, 1...600, expectation: positive)),
            Setting(path: "shared_streaming.upstream.first_byte_timeout", kind: .int(\.sharedStreaming.upstream.firstByteTimeout, 1...600, expectation: positive)),
            Setting(path: "shared_streaming.upstream.backoff_initial_ms", kind: .int(\.sharedStreaming.upstream.backoffInitialMs, 1...600_000, expectation: positive)),
            Setting(path: "shared_streaming.upstream.backoff_max_ms", kind: .int(\.sharedStreaming.upstream.backoffMaxMs, 1...3_600_000, expectation: positive)),
            Setting(path: "shared_streaming.upstream.hls_max_bandwidth", kind: .int(\.sharedStreaming.upstream.hlsMaxBandwidth, 0...1_000_000_000, expectation: nonNegative)),
            Setting(path: "shared_streaming.upstream.user_agent", kind: .string(\.sharedStreaming.upstream.userAgent, .any)),
            Setting(path: "shared_streaming.monitoring.enabled", kind: .bool(\.sharedStreaming.monitoring.enabled)),
            Setting(path: "shared_streaming.monitoring.stream_timeout", kind: .int(\.sharedStreaming.monitoring.streamTimeout, 1...86_400, expectation: positive)),
            Setting(path: "shared_streaming.monitoring.health_check_interval", kind: .int(\.sharedStreaming.monitoring.healthCheckInterval, 1...86_400, expectation: positive)),
            Setting(path: "shared_streaming.monitoring.stats_interval", kind: .int(\.sharedStreaming.monitoring.statsInterval, 1...86_400, expectation: positive)),
            Setting(path: "shared_streaming.monitoring.bandwidth_threshold", kind: .int(\.sharedStreaming.monitoring.bandwidthThreshold, 0...100_000_000, expectation: nonNegative)),
            Setting(path: "shared_streaming.monitoring.cleanup_interval", kind: .int(\.sharedStreaming.monitoring.cleanupInterval, 1...86_400 * 7, expectation: positive)),
            Setting(path: "shared_streaming.monitoring.stats_retention_days", kind: .int(\.sharedStreaming.monitoring.statsRetentionDays, 1...3650, expectation: positive)),
            Setting(path: "shared_streaming.monitoring.buffer_check_interval", kind: .int(\.sharedStreaming.monitoring.bufferCheckInterval, 1...86_400, expectation: positive)),
            Setting(path: "shared_streaming.monitoring.retention_interval", kind: .int(\.sharedStreaming.monitoring.retentionInterval, 1...86_400 * 7, expectation: positive)),
            Setting(path: "shared_streaming.buffer_disk_budget", kind: .int(\.sharedStreaming.bufferDiskBudget, 0...Int.max, expectation: nonNegative)),
            Setting(path: "alerting.enabled", kind: .bool(\.alerting.enabled)),
            Setting(path: "alerting.rule_files", kind: .list(\.alerting.ruleFiles, .path)),
            Setting(path: "alerting.evaluation_interval", kind: .int(\.alerting.evaluationInterval, 1...3600, expectation: positive)),
            Setting(path: "alerting.alertmanagers", kind: .list(\.alerting.alertmanagers, .url)),
            Setting(path: "alerting.resend_delay", kind: .int(\.alerting.resendDelay, 1...86_400, expectation: positive)),
            Setting(path: "alerting.queue_capacity", kind: .int(\.alerting.queueCapacity, 1...1_000_000, expectation: positive)),
            Setting(path: "security.api_tokens", kind: .list(\.security.apiTokens, .token)),
            Setting(path: "security.metrics_token", kind: .string(\.security.metricsToken, .tokenOrEmpty)),
            Setting(path: "security.allow", kind: .list(\.security.allow, .cidr)),
            Setting(path: "security.deny", kind: .list(\.security.deny, .cidr)),
            Setting(path: "security.trusted_proxies", kind: .list(\.security.trustedProxies, .cidr)),
            Setting(path: "security.rate_limit.api_per_minute", kind: .int(\.security.apiRatePerMinute, 0...1_000_000, expectation: nonNegative)),
            Setting(path: "security.rate_limit.api_burst", kind: .int(\.security.apiBurst, 1...1_000_000, expectation: positive)),
            Setting(path: "security.rate_limit.streams_per_minute", kind: .int(\.security.streamRatePerMinute, 0...1_000_000, expectation: nonNegative)),
            Setting(path: "security.rate_limit.streams_burst", kind: .int(\.security.streamBurst, 1...1_000_000, expectation: positive)),
            Setting(path: "security.rate_limit.bad_keys_per_minute", kind: .int(\.security.badKeysPerMinute, 0...1_000_000, expectation: nonNegative)),
            Setting(path: "security.max_body_bytes", kind: .int(\.security.maxBodyBytes, 1024...1_073_741_824, expectation: "expected a size in bytes from 1024 to 1073741824")),
            Setting(path: "security.probe_private_networks", kind: .bool(\.security.probePrivateNetworks)),
            Setting(path: "security.anonymous_playlist", kind: .bool(\.security.anonymousPlaylist)),
            Setting(path: "epg.past_days", kind: .int(\.epg.pastDays, 0...30, expectation: "expected days from 0 to 30")),
            Setting(path: "epg.future_days", kind: .int(\.epg.futureDays, 1...60, expectation: "expected days from 1 to 60")),
            Setting(path: "epg.max_programmes", kind: .int(\.epg.maxProgrammes, 1000...100_000_000, expectation: "expected a number of programmes from 1000 to 100000000")),
            Setting(path: "hdhomerun.enabled", kind: .bool(\.hdhomerun.enabled)),
            Setting(path: "hdhomerun.friendly_name", kind: .string(\.hdhomerun.friendlyName, .deviceText)),
            Setting(path: "hdhomerun.model_number", kind: .string(\.hdhomerun.modelNumber, .deviceText)),
            Setting(path: "hdhomerun.tuner_count", kind: .int(\.hdhomerun.tunerCount, 0...255, expectation: "expected a number of tuners from 0 (from the providers' slots) to 255")),
            Setting(path: "hdhomerun.discovery.enabled", kind: .bool(\.hdhomerun.discovery.enabled)),
            Setting(path: "hdhomerun.discovery.listen", kind: .string(\.hdhomerun.discovery.listen, .listenAddress)),
            Setting(path: "hdhomerun.discovery.port", kind: .int(\.hdhomerun.discovery.port, 0...65535, expectation: "expected a port number from 0 to 65535")),
        ]
    }

    static func setting(_ path: String) -> Setting? {
        settings.first { $0.path == path }
    }

    /// Mappings that hold settings: every proper prefix of a setting's path.
    static var sections: Set<String> {
        var result = Set<String>()
        for setting in settings {
            var parts = setting.path.split(separator: ".").dropLast()
            while !parts.isEmpty {
                result.insert(parts.joined(separator: "."))
                parts = parts.dropLast()
            }
        }
        return result
    }

    static let lists: Set<String> = ["playlists", "channels", "providers", "users", "hdhomerun.lineups", "epg_sources", "epg.mappings"]

    /// The keys allowed directly under `section` ("" for the top level), for "did you mean" hints.
    static func keys(under section: String) -> [String] {
        let prefix = section.isEmpty ? "" : section + "."
        let candidates = settings.map(\.path) + Array(sections) + Array(lists)
        return candidates.compactMap { path -> String? in
            guard path.hasPrefix(prefix) else { return nil }
            let rest = path.dropFirst(prefix.count)
            return rest.contains(".") ? nil : String(rest)
        }
    }

    /// Parses `raw` for `setting` and stores it in `config`; returns a message when it is not valid.
    static func apply(_ raw: String, to setting: Setting, in config: inout SharecastConfig) -> String? {
        switch setting.kind {
        case let .int(keyPath, range, expectation):
            guard let value = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                return "\(expectation), got \(quoted(raw))"
            }
            config[keyPath: keyPath] = value
        case let .bool(keyPath):
            switch raw.lowercased() {
            case "true", "yes", "on", "1": config[keyPath: keyPath] = true
            case "false", "no", "off", "0": config[keyPath: keyPath] = false
            default: return "expected true or false, got \(quoted(raw))"
            }
        case let .lagPolicy(keyPath):
            guard let value = LagPolicy(rawValue: raw) else {
                return "expected one of \(LagPolicy.allCases.map(\.rawValue).joined(separator: ", ")), got \(quoted(raw))"
            }
            config[keyPath: keyPath] = value
        case let .list(keyPath, check):
            let items = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return applyList(items, keyPath, check, in: &config)
        case let .string(keyPath, check):
            if let problem = validate(raw, check) { return problem }
            config[keyPath: keyPath] = check == .baseURL ? String(raw.trimmingSuffix("/")) : raw
        }
        return nil
    }

    /// Stores a list after checking each item; the message names the first bad one.
    static func applyList(_ items: [String], _ keyPath: WritableKeyPath<SharecastConfig, [String]>, _ check: ItemCheck,
                          in config: inout SharecastConfig) -> String? {
        for (index, item) in items.enumerated() {
            if let problem = validate(item: item, check) { return "item \(index + 1): \(problem)" }
        }
        config[keyPath: keyPath] = items
        return nil
    }

    static func validate(item: String, _ check: ItemCheck) -> String? {
        switch check {
        case .token: validate(item, .tokenOrEmpty) ?? (item.isEmpty ? "expected a token of at least 16 characters" : nil)
        case .cidr: CIDR(item) == nil ? "expected an IP address or CIDR network such as 10.0.0.0/8, got \(quoted(item))" : nil
        case .path: item.isEmpty ? "expected a file path" : nil
        case .url:
            (item.hasPrefix("http://") || item.hasPrefix("https://")) && !item.contains(where: \.isWhitespace)
                ? nil : "expected an http(s) URL, got \(quoted(item))"
        }
    }

    static func validate(_ raw: String, _ check: StringCheck) -> String? {
        switch check {
        case .tokenOrEmpty:
            if raw.isEmpty { return nil }
            return raw.count >= 16 && !raw.contains(where: \.isWhitespace) ? nil : "expected a token of at least 16 characters without spaces"
        case .any:
            return nil
        case .deviceText:
            let ok = (1...64).contains(raw.count) && !raw.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
            return ok ? nil : "expected 1 to 64 printable characters, got \(quoted(raw))"
        case .nonEmpty:
            return raw.isEmpty ? "expected a non-empty string" : nil
        case .listenAddress:
            return isIPAddress(raw) || raw == "localhost" ? nil : "expected an IP address such as 0.0.0.0 or ::, got \(quoted(raw))"
        case .baseURL:
            if raw.isEmpty { return nil }
            let ok = (raw.hasPrefix("http://") || raw.hasPrefix("https://")) && !raw.contains(where: \.isWhitespace)
                && !raw.contains("?") && !raw.contains("#")
            return ok ? nil : "expected empty or an http(s) URL without query, got \(quoted(raw))"
        }
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for character in text.prefix(80) {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(character)
            }
        }
        return out + (text.count > 80 ? "…\"" : "\"")
    }
}

extension String {
    func trimmingSuffix(_ suffix: Character) -> Substring {
        var result = Substring(self)
        while result.count > 1, result.last == suffix, !result.hasSuffix("://") { result = result.dropLast() }
        return result
    }
}
