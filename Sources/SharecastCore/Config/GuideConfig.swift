/// `epg:`: what the served guide keeps.
public struct GuideConfig: Sendable, Equatable {
    /// Days of past programmes kept and served.
    public var pastDays = 1
    /// Days of future programmes kept and served.
    public var futureDays = 7
    /// Programmes one source may contribute; a guide with more is refused (the last good one stays).
    public var maxProgrammes = 5_000_000

    public init() {}
}

/// One of `epg_sources:`: an XMLTV guide (URL or file, gzip or plain).
public struct GuideSourceConfig: Sendable, Equatable {
    /// Letters, digits, '_' and '-'; a metric label.
    public var name: String
    /// An http(s) URL or a file path.
    public var source: String
    public var refreshInterval: Duration = .seconds(12 * 3600)
    /// Added to every programme's times (providers' clocks are often off by hours).
    public var timeShiftSeconds = 0
    public var userAgent: String?

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    public var isRemote: Bool { source.hasPrefix("http://") || source.hasPrefix("https://") }
}
