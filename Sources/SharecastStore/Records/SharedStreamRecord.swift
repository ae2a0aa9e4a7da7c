import Foundation
import GRDB
import SharecastCore

/// A row of `shared_streams`: one upstream session of a channel, from start to stop.
public struct SharedStreamRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "shared_streams"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    public enum Format: String, Codable, Sendable { case ts, hls, builtin }
    public typealias Status = StreamSnapshot.Status
    public enum Health: String, Codable, Sendable { case unknown, healthy, degraded, unhealthy }

    public var id: Int64?
    /// The streaming session's UUID: the stream's id in the monitor API.
    public var sessionId: String?
    public var channelId: String
    public var sourceUrl: String
    public var format: Format
    public var status: Status
    public var health: Health
    public var startedAt: Date
    public var stoppedAt: Date?
    public var updatedAt: Date
    public var clientCount: Int
    public var peakClientCount: Int
    public var bytesIn: Int64
    public var bytesOut: Int64
    /// Upstream rate in bits per second.
    public var bandwidthBps: Int64
    public var errorCount: Int
    public var restartCount: Int
    public var lastError: String?

    public init(channelId: String, sourceUrl: String, format: Format, status: Status = .starting, startedAt: Date) {
        self.channelId = channelId
        self.sourceUrl = sourceUrl
        self.format = format
        self.status = status
        health = .unknown
        self.startedAt = startedAt
        updatedAt = startedAt
        clientCount = 0
        peakClientCount = 0
        bytesIn = 0
        bytesOut = 0
        bandwidthBps = 0
        errorCount = 0
        restartCount = 0
    }

    /// Written column by column: the history recorder saves these rows every second, and the
    /// generic encoder with its snake-case conversion cost more than the SQL itself.
    public func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["session_id"] = sessionId
        container["channel_id"] = channelId
        container["source_url"] = sourceUrl
        container["format"] = format.rawValue
        container["status"] = status.rawValue
        container["health"] = health.rawValue
        container["started_at"] = startedAt
        container["stopped_at"] = stoppedAt
        container["updated_at"] = updatedAt
        container["client_count"] = clientCount
        container["peak_client_count"] = peakClientCount
        container["bytes_in"] = bytesIn
        container["bytes_out"] = bytesOut
        container["bandwidth_bps"] = bandwidthBps
        container["error_count"] = errorCount
        container["restart_count"] = restartCount
        container["last_error"] = lastError
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
