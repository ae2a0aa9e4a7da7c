/// The whole of Sharecast's configuration, as typed values.
///
/// The defaults here are the seed's and match `DefaultConfig.yaml`; `ConfigLoader` fills the values
/// from YAML, then the environment, then command-line flags, validating each against `ConfigSchema`.
public struct SharecastConfig: Sendable, Equatable {
    public var server = ServerConfig()
    public var database = DatabaseConfig()
    public var sharedStreaming = SharedStreamingConfig()
    public var security = SecurityConfig()
    public var alerting = AlertingConfig()
    public var hdhomerun = HDHomeRunConfig()
    public var epg = GuideConfig()
    /// XMLTV guides of their own, besides the providers'.
    public var epgSources: [GuideSourceConfig] = []
    /// Provider playlists to import into the channel catalog.
    public var playlists: [PlaylistSource] = []
    /// IPTV providers (Xtream Codes panels and M3U playlists) with their logins and limits.
    public var providers: [ProviderConfig] = []
    /// Who may watch, each with a personal playlist (`/u/<secret>/playlist.m3u`).
    public var users: [UserConfig] = []
    /// Channels declared inline, in addition to those from playlists.
    public var channels: [ChannelDefinition] = []

    public init() {}

    /// Every provider: those of `providers:`, then each of `playlists:` as an unlimited m3u one.
    public var allProviders: [ProviderConfig] {
        providers + playlists.map(ProviderConfig.playlist)
    }

    /// `epg_sources`, then every provider's own guide (of `providers:` and `playlists:`).
    public var guideSources: [GuideSourceConfig] {
        epgSources + allProviders.compactMap(\.guideSource)
    }
}

public struct ServerConfig: Sendable, Equatable {
    /// The address to listen on: an IPv4 or IPv6 address (`0.0.0.0`, `::`) or `localhost`.
    public var listen = "0.0.0.0"
    /// 0 asks the system for a free port (tests use it; the bound port is logged).
    public var port = 8085
    /// The base of the URLs written into `/playlist.m3u`; empty means "from the request's Host header".
    public var publicBaseURL = ""
    /// Open connections one client address may hold; loopback and `security.trusted_proxies`
    /// are exempt. 0: no cap.
    public var maxConnectionsPerAddress = 64
    /// Seconds an idle connection (no request yet, or keep-alive between requests) stays open.
    /// Viewers of a stream get `shared_streaming.client_timeout` instead.
    public var idleTimeout = 30
}

public struct DatabaseConfig: Sendable, Equatable {
    public var path = "data/sharecast.sqlite"
}

public struct SharedStreamingConfig: Sendable, Equatable {
    public var enabled = true
    public var bufferPath = "/tmp/m3u-proxy-buffers"
    public var maxConcurrentStreams = 100
    /// Seconds a client may go without progress before it is disconnected.
    public var clientTimeout = 300
    /// Bytes of each running channel's ring buffer (about 8 s at 8 Mbit/s by default).
    public var bufferSize = 8 * 1024 * 1024
    /// Seconds a channel's upstream stays open after its last viewer leaves, so a zapping viewer
    /// comes back to it without a new upstream connection.
    public var gracePeriod = 10
    /// What happens to a viewer that falls a whole ring behind: `disconnect` it (reason `lagging`)
    /// or `skip` it forward to the newest keyframe.
    public var lagPolicy = LagPolicy.disconnect
    /// Viewers' streams are sent by Sharecast's own delivery thread on the sockets libmicrohttpd
    /// accepted (large sends, hang-ups seen at once) instead of through libmicrohttpd's callbacks.
    public var directDelivery = true
    /// Seconds of stream a joining viewer gets at once, from the keyframe (with the PAT before it)
    /// at least this far back, so a player's default probe decides without waiting for live data.
    public var joinBacklog = 5
    /// Bytes all rings together may take under `buffer_path` (0: no budget). Over it, streams
    /// without viewers are stopped.
    public var bufferDiskBudget = 0
    /// Seconds a request for a channel of a provider with every slot taken waits for one to free
    /// (players open the new channel a moment before they close the old one).
    public var zapWait = 5
    public var upstream = UpstreamConfig()
    public var monitoring = MonitoringConfig()
}

public enum LagPolicy: String, Sendable, Equatable, CaseIterable {
    case disconnect, skip
}

/// How hard Sharecast tries to keep an upstream connection.
public struct UpstreamConfig: Sendable, Equatable {
    /// Failures in a row (with no data in between) before a session ends with status `error`.
    public var maxAttempts = 5
    public var connectTimeout = 10
    /// Seconds without a byte before the upstream counts as stalled and is reconnected.
    public var stallTimeout = 10
    /// Seconds a new viewer of a starting stream waits for its first bytes before it gets an error
    /// status instead (the response is held, not answered 200 and then left empty).
    public var firstByteTimeout = 15
    public var backoffInitialMs = 500
    public var backoffMaxMs = 10_000
    public var userAgent = ""
    /// HLS master playlists: the best variant at or below this many bits per second (0: the highest).
    public var hlsMaxBandwidth = 0
}

public struct MonitoringConfig: Sendable, Equatable {
    public var enabled = true
    /// Seconds without upstream data before a stream counts as stalled.
    public var streamTimeout = 300
    public var healthCheckInterval = 60
    /// Seconds between `shared_stream_stats` rows of each running stream (and one when it stops).
    public var statsInterval = 10
    /// Kilobits per second.
    public var bandwidthThreshold = 50_000
    public var cleanupInterval = 300
    public var statsRetentionDays = 7
    /// Seconds between buffer-management runs (orphan ring files, disk budget).
    public var bufferCheckInterval = 600
    /// Seconds between runs of the stats retention job.
    public var retentionInterval = 3600
}

/// The alert rules Sharecast evaluates itself, and where it sends the alerts.
public struct AlertingConfig: Sendable, Equatable {
    public var enabled = true
    /// Prometheus rule files (globs allowed), relative to the working directory.
    public var ruleFiles = ["alerts/*.yml"]
    /// Seconds between evaluations (and samples of Sharecast's own metrics).
    public var evaluationInterval = 15
    /// Alertmanager base URLs (`http://am:9093`); alerts go to their `/api/v2/alerts`.
    public var alertmanagers: [String] = []
    /// Seconds between re-sends of a firing alert.
    public var resendDelay = 60
    /// Notifications waiting for Alertmanager; the oldest are dropped (and counted) when full.
    public var queueCapacity = 10_000
}

/// Who may use the API and streams, and how often.
///
/// With no `api_tokens`, the monitor API's read-only endpoints are open and the ones that change
/// something (stop, restart, kick, cleanup, probe) answer only clients on loopback: a fresh
/// install on `0.0.0.0` cannot be driven by anyone on the network.
public struct SecurityConfig: Sendable, Equatable {
    /// Accepted as `Authorization: Bearer <token>` or `X-API-Key: <token>` on `/api/monitor`.
    public var apiTokens: [String] = []
    /// When set, `/metrics` needs it (Bearer), as Prometheus' `authorization` sends it.
    public var metricsToken = ""
    /// CIDRs allowed to use the API and streams (empty: everyone not denied).
    public var allow: [String] = []
    /// CIDRs refused (403), checked before `allow`.
    public var deny: [String] = []
    /// CIDRs of reverse proxies whose `X-Forwarded-For` names the real client.
    public var trustedProxies: [String] = []
    /// Token buckets per client IP, refilled per minute; 0 turns a limit off. The stream limit is generous because one
    /// media server (Plex, Jellyfin) opens every viewer's stream from one address.
    public var apiRatePerMinute = 1200
    public var apiBurst = 100
    public var streamRatePerMinute = 1200
    public var streamBurst = 100
    /// Unknown stream keys one IP may try per minute before its stream requests get 429.
    public var badKeysPerMinute = 10
    /// Request bodies above this are refused with 413.
    public var maxBodyBytes = 1_048_576
    /// Serve the anonymous `/playlist.m3u` and `/stream/<key>`; with users configured, turn it off
    /// so that every viewer comes through a personal playlist.
    public var anonymousPlaylist = true
    /// Lets `POST /api/monitor/streams/test` probe loopback and private-network URLs.
    public var probePrivateNetworks = false
}

/// A provider playlist: a local path or an http(s) URL.
public struct PlaylistSource: Sendable, Equatable {
    public var name: String
    public var source: String
    /// Sent when fetching the playlist (some providers reject unknown clients).
    public var userAgent: String?
    /// Further request headers (an m3u provider's `headers:`).
    public var headers: [String: String]

    public init(name: String, source: String, userAgent: String? = nil, headers: [String: String] = [:]) {
        self.name = name
        self.source = source
        self.userAgent = userAgent
        self.headers = headers
    }

    public var isRemote: Bool { source.hasPrefix("http://") || source.hasPrefix("https://") }
}

/// A channel declared in the configuration file.
public struct ChannelDefinition: Sendable, Equatable {
    public var id: String
    public var name: String
    public var group: String
    /// The primary URL first, then backups in the order they are tried.
    public var urls: [String]
    public var logo: String?
    public var tvgID: String?
    /// The channel number asked for (`channels[].number`); kept unless another channel holds it.
    public var number: Int?
    public var userAgent: String?
    public var headers: [String: String]

    public init(
        id: String, name: String, group: String = "", urls: [String], logo: String? = nil,
        tvgID: String? = nil, userAgent: String? = nil, headers: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.group = group
        self.urls = urls
        self.logo = logo
        self.tvgID = tvgID
        self.userAgent = userAgent
        self.headers = headers
    }
}
