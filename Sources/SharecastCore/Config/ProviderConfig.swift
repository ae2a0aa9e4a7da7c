/// An IPTV provider: where its channel list comes from, the logins Sharecast may use, and how
/// many streams each login may hold at once.
///
/// Most subscriptions allow one or two connections at a time; a provider's `accounts` are the
/// logins, and a running channel holds one slot of one of them (`max_streams`). The playlists of
/// `playlists:` are providers too: of type `m3u`, with one login and no limit.
public struct ProviderConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// An Xtream Codes panel: `player_api.php` for the catalog, `/live/<user>/<pass>/<id>.ts`.
        case xtream
        /// An M3U playlist (file or URL); its stream URLs are used as they are.
        case m3u
    }

    /// Letters, digits, '_' and '-': the `provider` label of the metrics and the channels' source.
    public var name: String
    public var kind: Kind
    /// Xtream: the panel's base URL (`http://panel.example:8080`).
    public var server: String
    /// M3U: the playlist's URL or path.
    public var playlist: String
    /// In order: a new session takes the first with a free slot.
    public var accounts: [ProviderAccount]
    /// How often the channel list (and its URLs) is read again.
    public var refreshInterval: Duration
    /// Sent on every request to this provider (catalog and streams); a channel's own wins.
    public var userAgent: String?
    public var headers: [String: String]
    /// The only viewer of a running channel of this provider, asking from the same address for
    /// another of its channels, hands its slot over at once (its viewer closed as `zapped`).
    public var zapTakeover: Bool
    /// Read from `playlists:` (no limits, no refresh schedule of its own).
    public var fromPlaylists: Bool
    /// `epg`: the provider's own guide (by default the one its panel or playlist names).
    public var guide = ProviderGuide()

    public init(name: String, kind: Kind, server: String = "", playlist: String = "", accounts: [ProviderAccount] = [],
                refreshInterval: Duration = .seconds(12 * 3600), userAgent: String? = nil, headers: [String: String] = [:],
                zapTakeover: Bool = false, fromPlaylists: Bool = false) {
        self.name = name
        self.kind = kind
        self.server = server
        self.playlist = playlist
        self.accounts = accounts
        self.refreshInterval = refreshInterval
        self.userAgent = userAgent
        self.headers = headers
        self.zapTakeover = zapTakeover
        self.fromPlaylists = fromPlaylists
    }

    /// What `playlists:` entries are: m3u providers with one unlimited login.
    public static func playlist(_ source: PlaylistSource) -> ProviderConfig {
        ProviderConfig(name: source.name, kind: .m3u, playlist: source.source, accounts: [ProviderAccount()],
                       refreshInterval: .zero, userAgent: source.userAgent, fromPlaylists: true)
    }

    /// The provider's guide as a guide source; nil for `epg: false`.
    public var guideSource: GuideSourceConfig? {
        var source: GuideSourceConfig
        switch guide.location {
        case .none: return nil
        case .automatic: source = GuideSourceConfig(name: name, source: "")
        case let .given(location): source = GuideSourceConfig(name: name, source: location)
        }
        source.provider = name
        source.refreshInterval = guide.refreshInterval
        source.timeShiftSeconds = guide.timeShiftSeconds
        source.userAgent = userAgent
        return source
    }

    /// `max_streams` summed over the accounts, or nil when one of them has no limit.
    public var configuredSlots: Int? {
        var total = 0
        for account in accounts {
            guard let limit = account.maxStreams, limit > 0 else { return nil }
            total += limit
        }
        return total
    }
}

/// One login on a provider.
public struct ProviderAccount: Sendable, Equatable {
    /// Xtream: the login's user name (not a secret, but never shown with its password).
    public var username: String
    public var password: Secret
    /// Streams this login may hold at once; nil: Xtream asks the panel (`max_connections`), M3U
    /// has no limit. 0 is no limit.
    public var maxStreams: Int?
    /// M3U: how the playlist's stream URLs become this login's (a regular expression and its
    /// replacement, `$1` for groups, `{username}` and `{password}` for this login's). None for the
    /// playlist's own login.
    public var rewrite: URLRewrite?

    public init(username: String = "", password: Secret = Secret(""), maxStreams: Int? = nil, rewrite: URLRewrite? = nil) {
        self.username = username
        self.password = password
        self.maxStreams = maxStreams
        self.rewrite = rewrite
    }

    /// `acme/u1`: how logs, metrics and the API name a login (never with the password).
    public func label(index: Int) -> String {
        username.isEmpty ? "account\(index + 1)" : username
    }
}

/// A regular expression and what replaces its matches, applied to an M3U provider's stream URLs.
public struct URLRewrite: Sendable, Equatable {
    public var match: String
    public var replace: String

    public init(match: String, replace: String) {
        self.match = match
        self.replace = replace
    }
}

/// A password or token: compared and passed on, never printed. `description` and `debugDescription`
/// are a placeholder, so interpolating a configuration into a log line cannot leak it.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
}
