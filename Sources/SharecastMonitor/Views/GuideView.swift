import Foundation

/// A programme as the API shows it: what a running channel airs now and next.
public struct ProgrammeView: Encodable, Sendable, Equatable {
    public var title: String
    public var start: Date
    public var stop: Date?
    /// The guide source it came from.
    public var source: String

    public init(title: String, start: Date, stop: Date?, source: String) {
        self.title = title
        self.start = start
        self.stop = stop
        self.source = source
    }
}

/// `guide` of a live stream: the programme airing now (nil in a gap) and the one after it.
public struct NowNextView: Encodable, Sendable, Equatable {
    public var now: ProgrammeView?
    public var next: ProgrammeView?

    public init(now: ProgrammeView?, next: ProgrammeView?) {
        self.now = now
        self.next = next
    }
}

/// A guide source in `GET /api/monitor/guide`: its last import and what it holds. Never its URL
/// (a provider's guide URL carries the login).
public struct GuideSourceView: Encodable, Sendable, Equatable {
    public var name: String
    /// The provider whose own guide this is; nil for `epg_sources`.
    public var provider: String?
    public var lastRefreshAt: Date?
    public var refreshes: Int
    public var lastSuccessAt: Date?
    public var lastChangeAt: Date?
    /// Why the last import failed (the source and the place in it); the previous guide is served.
    public var lastError: String?
    public var programmes: Int
    public var channelsMapped: Int
    public var channelsUnmapped: Int

    public init(name: String, provider: String?, lastRefreshAt: Date?, refreshes: Int, lastSuccessAt: Date?, lastChangeAt: Date?,
                lastError: String?, programmes: Int, channelsMapped: Int, channelsUnmapped: Int) {
        self.name = name
        self.provider = provider
        self.lastRefreshAt = lastRefreshAt
        self.refreshes = refreshes
        self.lastSuccessAt = lastSuccessAt
        self.lastChangeAt = lastChangeAt
        self.lastError = lastError
        self.programmes = programmes
        self.channelsMapped = channelsMapped
        self.channelsUnmapped = channelsUnmapped
    }
}

/// The answer to `POST /api/monitor/guide/{name}/refresh`.
struct GuideAction: Encodable {
    var source: String
    var action: String
}
