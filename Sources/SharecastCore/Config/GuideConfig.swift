/// `epg:`: what the served guide keeps.
public struct GuideConfig: Sendable, Equatable {
    /// Days of past programmes kept and served.
    public var pastDays = 1
    /// Days of future programmes kept and served.
    public var futureDays = 7
    /// Programmes one source may contribute; a guide with more is refused (the last good one stays).
    public var maxProgrammes = 5_000_000
    /// `epg.mappings`: catalog channel (its id, or its number as text) to the guide channel id
    /// whose programmes it gets, overriding the tvg-id and name matching; an empty id: none.
    public var mappings: [String: String] = [:]

    public init() {}
}

/// One of `epg_sources:`, or a provider's own guide: an XMLTV guide (URL or file, gzip or plain).
public struct GuideSourceConfig: Sendable, Equatable {
    /// Letters, digits, '_' and '-' (a provider's guide: the provider's name); a metric label.
    public var name: String
    /// An http(s) URL or a file path; empty for a provider's guide found by itself (its panel's
    /// `xmltv.php`, its playlist's `url-tvg`), resolved at each import.
    public var source: String
    /// The provider whose guide this is (its user agent and headers are sent); nil for `epg_sources`.
    public var provider: String?
    public var refreshInterval: Duration = .seconds(12 * 3600)
    /// Added to every programme's times (providers' clocks are often off by hours).
    public var timeShiftSeconds = 0
    public var userAgent: String?

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    public var isRemote: Bool { Self.isRemote(source) }

    public static func isRemote(_ location: String) -> Bool { location.hasPrefix("http://") || location.hasPrefix("https://") }
}

/// `providers[].epg`: where a provider's guide comes from.
public struct ProviderGuide: Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        /// Xtream: the panel's `xmltv.php` for the first login; M3U: the playlist's `url-tvg` /
        /// `x-tvg-url` (none when it names no guide).
        case automatic
        /// `epg: false`.
        case none
        /// A URL or a file path given in the configuration.
        case given(String)
    }

    public var location: Location = .automatic
    public var refreshInterval: Duration = .seconds(12 * 3600)
    public var timeShiftSeconds = 0

    public init() {}
}
