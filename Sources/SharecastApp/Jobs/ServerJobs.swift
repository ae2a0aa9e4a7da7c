import Foundation
import SharecastCore
import SharecastMonitor
import SharecastStore
import SharecastStreaming
import Synchronization
import SharecastSync

/// The last cleanup's report, for `POST /api/monitor/cleanup` to return after running the job.
final class CleanupLog: Sendable {
    let last = Locked<CleanupReport?>(nil)
}

/// The scheduled work of a running server, with intervals from `shared_streaming.monitoring`.
enum ServerJobs {
    static let cleanup = "cleanup", monitorUpdate = "monitor_update", bufferManagement = "buffer_management", retention = "retention"

    static func make(config: SharecastConfig, sessions: SessionManager, database: SharecastDatabase, cleanupLog: CleanupLog,
                     health: @escaping @Sendable () -> HealthStatus) -> [Job] {
        let monitoring = config.sharedStreaming.monitoring
        let budget = config.sharedStreaming.bufferDiskBudget
        return [
            Job(name: cleanup, interval: .seconds(monitoring.cleanupInterval)) {
                let report = try runCleanup(config: config, sessions: sessions, database: database)
                cleanupLog.last.withLock { $0 = report }
                return "clients dropped \(report.clientsDropped), streams stopped \(report.sessionsStopped), rows marked stopped \(report.streamsMarkedStopped)"
            },
            Job(name: monitorUpdate, interval: .seconds(monitoring.healthCheckInterval)) {
                "\(sessions.sessionCount) streams; health \(health().rawValue)"
            },
            Job(name: bufferManagement, interval: .seconds(monitoring.bufferCheckInterval)) {
                let report = sessions.manageBuffers(budget: budget)
                return "orphan ring files removed \(report.orphanFilesRemoved.count), ring bytes \(report.ringBytes), idle streams stopped \(report.idleSessionsStopped)"
            },
            Job(name: retention, interval: .seconds(monitoring.retentionInterval)) {
                let cutoff = Date().addingTimeInterval(-Double(monitoring.statsRetentionDays) * 86_400)
                let deleted = try database.deleteStats(before: cutoff)
                return "stats rows older than \(monitoring.statsRetentionDays) days deleted: \(deleted)"
            },
        ]
    }

    /// Viewers idle past `client_timeout`, streams idle past `stream_timeout`, and history rows of
    /// sessions that no longer run marked stopped.
    static func runCleanup(config: SharecastConfig, sessions: SessionManager, database: SharecastDatabase) throws -> CleanupReport {
        let result = sessions.cleanup(clientTimeout: .seconds(config.sharedStreaming.clientTimeout),
                                      streamTimeout: .seconds(config.sharedStreaming.monitoring.streamTimeout))
        // Let the recorder write the stopped sessions' final rows before looking for dead ones.
        sessions.flushHistory()
        let live = Set(sessions.snapshots(withClients: false).map(\.id.lowercasedString))
        let marked = try database.markStreamsStopped(exceptSessions: live)
        return CleanupReport(clientsDropped: result.clientsDropped, sessionsStopped: result.sessionsStopped, streamsMarkedStopped: marked)
    }
}
