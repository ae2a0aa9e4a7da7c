import Foundation
import GRDB

/// A row of `shared_stream_stats`: a time-stamped sample of one stream, for history and graphs.
public struct SharedStreamStatRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "shared_stream_stats"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    public var id: Int64?
    public var streamId: Int64
    public var sampledAt: Date
    public var clientCount: Int
    public var bandwidthBps: Int64
    public var bytesIn: Int64
    public var bytesOut: Int64
    /// 0...1: how much of the ring buffer holds data not yet read by the slowest client.
    public var bufferFill: Double
    public var errorCount: Int

    public init(streamId: Int64, sampledAt: Date, clientCount: Int, bandwidthBps: Int64, bytesIn: Int64, bytesOut: Int64, bufferFill: Double, errorCount: Int) {
        self.streamId = streamId
        self.sampledAt = sampledAt
        self.clientCount = clientCount
        self.bandwidthBps = bandwidthBps
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.bufferFill = bufferFill
        self.errorCount = errorCount
    }

    /// Written column by column: the history recorder saves these rows every second, and the
    /// generic encoder with its snake-case conversion cost more than the SQL itself.
    public func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["stream_id"] = streamId
        container["sampled_at"] = sampledAt
        container["client_count"] = clientCount
        container["bandwidth_bps"] = bandwidthBps
        container["bytes_in"] = bytesIn
        container["bytes_out"] = bytesOut
        container["buffer_fill"] = bufferFill
        container["error_count"] = errorCount
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
