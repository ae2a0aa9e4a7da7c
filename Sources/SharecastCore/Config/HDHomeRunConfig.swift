/// `hdhomerun:`: Sharecast as a network tuner that Plex, Emby, Jellyfin and Channels DVR add by
/// themselves (UDP discovery) or by URL (`discover.json` on the main port).
public struct HDHomeRunConfig: Sendable, Equatable {
    public var enabled = false
    public var friendlyName = "Sharecast"
    /// Jellyfin offers transcoding profiles (and appends `?transcode=`) for models containing
    /// "hdtc"; this one has none, and the query is accepted and ignored anyway.
    public var modelNumber = "HDHR5-4K"
    /// 0: the providers' slots added up, capped by `max_concurrent_streams`.
    public var tunerCount = 0
    public var discovery = HDHomeRunDiscoveryConfig()
    /// Lineups of a few groups each, each its own device: media servers that choke on thousands of
    /// channels add one of these instead of the whole catalog.
    public var lineups: [HDHomeRunLineupConfig] = []

    public init() {}
}

/// The UDP responder media servers' "detect tuners" broadcasts reach.
public struct HDHomeRunDiscoveryConfig: Sendable, Equatable {
    public var enabled = true
    public var listen = "0.0.0.0"
    /// SiliconDust's discovery port; other values are for tests.
    public var port = 65001

    public init() {}
}

/// One filtered lineup, served under `/hdhr/<name>/` with a device id of its own.
public struct HDHomeRunLineupConfig: Sendable, Equatable {
    /// Letters, digits, '_' and '-': part of its URLs.
    public var name: String
    /// The channel groups it holds.
    public var groups: [String]

    public init(name: String, groups: [String]) {
        self.name = name
        self.groups = groups
    }
}
