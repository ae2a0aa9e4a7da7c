import Foundation
import GRDB
import SharecastCore

/// A row of `shared_stream_clients`: one viewer's connection to a stream.
public struct SharedStreamClientRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "shared_stream_clients"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    /// Why a client left: the streaming layer's reasons, stored by their raw values.
    public typealias DisconnectReason = ClientSnapshot.DisconnectReason

    public var id: Int64?
    public var streamId: Int64
    public var clientId: String
    public var ip: String
    public var userAgent: String?
    public var connectedAt: Date
    public var lastActivityAt: Date
    public var disconnectedAt: Date?
    public var bytesSent: Int64
    public var disconnectReason: DisconnectReason?
    public var userName: String?

    public init(streamId: Int64, clientId: String, ip: String, userAgent: String?, connectedAt: Date) {
        self.streamId = streamId
        self.clientId = clientId
        self.ip = ip
        self.userAgent = userAgent
        self.connectedAt = connectedAt
        lastActivityAt = connectedAt
        bytesSent = 0
    }

    /// Written column by column: the history recorder saves these rows every second, and the
    /// generic encoder with its snake-case conversion cost more than the SQL itself.
    public func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["stream_id"] = streamId
        container["client_id"] = clientId
        container["ip"] = ip
        container["user_agent"] = userAgent
        container["connected_at"] = connectedAt
        container["last_activity_at"] = lastActivityAt
        container["disconnected_at"] = disconnectedAt
        container["bytes_sent"] = bytesSent
        container["disconnect_reason"] = disconnectReason?.rawValue
        container["user_name"] = userName
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
