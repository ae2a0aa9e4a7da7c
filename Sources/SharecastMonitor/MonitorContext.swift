import Foundation
import SharecastCore
import SharecastStore
import SharecastStreaming
import SharecastUpstream

/// What the monitor API reads and drives. The application fills it in; tests can too.
public struct MonitorContext: Sendable {
    public var sessions: SessionManager
    public var database: SharecastDatabase
    public var bufferPath: String
    /// Channel names by id, for display.
    public var channelName: @Sendable (String) -> String?
    /// Runs the cleanup job now.
    public var cleanup: @Sendable () throws -> CleanupReport
    /// Alerts firing now, in the seed's shape (empty until rules are evaluated).
    public var alerts: @Sendable () -> [AlertView]
    /// Probes an upstream URL for `POST /api/monitor/streams/test`.
    public var probe: StreamProbe
    public var startedAt: Date
    /// The providers with their logins and last refresh.
    public var providers: @Sendable () -> [ProviderView] = { [] }
    /// Asks for a refresh of the named provider; false when there is none.
    public var refreshProvider: @Sendable (String) -> Bool = { _ in false }
    /// What a catalog channel airs now and next; nil when the guide has nothing for it.
    public var nowNext: @Sendable (String) -> NowNextView? = { _ in nil }
    /// The guide's sources.
    public var guideSources: @Sendable () -> [GuideSourceView] = { [] }
    /// Asks for a re-import of the named guide source; false when there is none.
    public var refreshGuide: @Sendable (String) -> Bool = { _ in false }

    public init(sessions: SessionManager, database: SharecastDatabase, bufferPath: String,
                channelName: @escaping @Sendable (String) -> String?, cleanup: @escaping @Sendable () throws -> CleanupReport,
                alerts: @escaping @Sendable () -> [AlertView] = { [] }, probe: StreamProbe, startedAt: Date = Date()) {
        self.sessions = sessions
        self.database = database
        self.bufferPath = bufferPath
        self.channelName = channelName
        self.cleanup = cleanup
        self.alerts = alerts
        self.probe = probe
        self.startedAt = startedAt
    }
}

/// What a cleanup run removed.
public struct CleanupReport: Encodable, Sendable, Equatable {
    public var clientsDropped = 0
    public var sessionsStopped = 0
    public var streamsMarkedStopped = 0
    public var ranAt = Date()

    public init(clientsDropped: Int = 0, sessionsStopped: Int = 0, streamsMarkedStopped: Int = 0, ranAt: Date = Date()) {
        self.clientsDropped = clientsDropped
        self.sessionsStopped = sessionsStopped
        self.streamsMarkedStopped = streamsMarkedStopped
        self.ranAt = ranAt
    }
}
