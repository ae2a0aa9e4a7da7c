import Foundation
import SharecastCore
import SharecastMetrics
import SharecastStore

/// `healthy`, `degraded` or `unhealthy`, worst first when combined.
public enum HealthStatus: String, Encodable, Sendable, Comparable {
    case healthy, degraded, unhealthy

    var rank: Int {
        switch self {
        case .healthy: 0
        case .degraded: 1
        case .unhealthy: 2
        }
    }

    public static func < (a: HealthStatus, b: HealthStatus) -> Bool { a.rank < b.rank }
}

/// The server's health: one check per resource, the worst decides.
///
/// Thresholds: buffer disk below 10% free is degraded, below 2% unhealthy; memory available below
/// 15% degraded, below 5% unhealthy; descriptors above 80% of the limit degraded, above 95%
/// unhealthy; the database unhealthy when a query fails. Upstream problems make Sharecast
/// degraded, never unhealthy: a provider outage is not a reason for an orchestrator to restart it.
public struct HealthReport: Encodable, Sendable {
    public struct Check: Encodable, Sendable {
        public var name: String
        public var status: HealthStatus
        public var message: String
    }

    public var status: HealthStatus
    public var checks: [Check]
    public var checkedAt: Date
}

public struct HealthEvaluator: Sendable {
    let database: SharecastDatabase
    let bufferPath: String

    public init(database: SharecastDatabase, bufferPath: String) {
        self.database = database
        self.bufferPath = bufferPath
    }

    public func evaluate(streams: [StreamSnapshot], host: HostFigures, now: Date = Date()) -> HealthReport {
        var checks: [HealthReport.Check] = []
        let started = ContinuousClock.now
        let databaseUp = (try? database.pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
        let milliseconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e15
        checks.append(.init(name: "database", status: databaseUp ? .healthy : .unhealthy,
                            message: databaseUp ? String(format: "answered in %.1f ms", milliseconds) : "query failed"))

        if let disk = host.bufferDisk {
            let status: HealthStatus = disk.freeRatio < 0.02 ? .unhealthy : disk.freeRatio < 0.10 ? .degraded : .healthy
            checks.append(.init(name: "buffer_disk", status: status,
                                message: String(format: "%.1f%% free of %@", disk.freeRatio * 100, disk.path)))
        } else {
            checks.append(.init(name: "buffer_disk", status: .degraded, message: "cannot read the file system of \(bufferPath)"))
        }

        if host.memoryTotalBytes > 0 {
            let ratio = host.memoryAvailableBytes / host.memoryTotalBytes
            let status: HealthStatus = ratio < 0.05 ? .unhealthy : ratio < 0.15 ? .degraded : .healthy
            checks.append(.init(name: "memory", status: status, message: String(format: "%.1f%% available", ratio * 100)))
        }

        if host.maxFileDescriptors > 0 {
            let ratio = Double(host.openFileDescriptors) / Double(host.maxFileDescriptors)
            let status: HealthStatus = ratio > 0.95 ? .unhealthy : ratio > 0.80 ? .degraded : .healthy
            checks.append(.init(name: "file_descriptors", status: status,
                                message: "\(host.openFileDescriptors) of \(host.maxFileDescriptors) open"))
        }

        let failing = streams.filter { Self.streamHealth($0, now: now) == "unhealthy" }
        checks.append(.init(name: "upstream_sessions", status: failing.isEmpty ? .healthy : .degraded,
                            message: failing.isEmpty ? "\(streams.count) running, all delivering"
                                : "\(failing.count) of \(streams.count) not delivering: " + failing.map(\.channelID).sorted().joined(separator: ", ")))
        return HealthReport(status: checks.map(\.status).max() ?? .healthy, checks: checks, checkedAt: now)
    }

    /// A stream's health: `unhealthy` when it failed or its upstream has been silent for 10 s,
    /// `degraded` while it is still connecting or has been silent for 3 s, `healthy` otherwise.
    public static func streamHealth(_ stream: StreamSnapshot, now: Date = Date()) -> String {
        switch stream.status {
        case .error: return "unhealthy"
        case .stopped: return "unknown"
        case .starting:
            return now.timeIntervalSince(stream.startedAt) > 10 ? "unhealthy" : "degraded"
        case .active, .idle:
            guard let last = stream.lastDataAt else { return now.timeIntervalSince(stream.startedAt) > 10 ? "unhealthy" : "degraded" }
            let silence = now.timeIntervalSince(last)
            return silence > 10 ? "unhealthy" : silence > 3 ? "degraded" : "healthy"
        }
    }
}
