import Foundation
import GRDB
import SharecastCore

/// A row of `shared_stream_clients`: one viewer's connection to a stream.
public struct SharedStreamClientRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "shared_stream_clients"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

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

    public init(streamId: Int64, clientId: String, ip: String, userAgent: String?, connectedAt: Date) {
        self.streamId = streamId
        self.clientId = clientId
        self.ip = ip
        self.userAgent = userAgent
        self.connectedAt = connectedAt
        lastActivityAt = connectedAt
        bytesSent = 0
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
