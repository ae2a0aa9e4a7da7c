import Foundation
import GRDB
import SharecastCore

/// A row of `channels`: a catalog channel with its persisted secret stream key.
///
/// Rows are read and written column by column rather than through `Codable`: provider playlists
/// hold tens of thousands of channels, and the generic decoder made a re-import several times slower.
public struct ChannelRecord: Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "channels"

    public enum Columns {
        public static let id = Column("id"), streamKey = Column("stream_key"), name = Column("name")
        public static let groupTitle = Column("group_title"), logo = Column("logo"), tvgId = Column("tvg_id")
        public static let tvgName = Column("tvg_name"), urls = Column("urls"), userAgent = Column("user_agent")
        public static let headers = Column("headers"), source = Column("source"), position = Column("position")
        public static let number = Column("number")
        public static let createdAt = Column("created_at"), updatedAt = Column("updated_at"), removedAt = Column("removed_at")
    }

    public var channel: CatalogChannel
    public var streamKey: String
    public var createdAt: Date
    public var updatedAt: Date
    public var removedAt: Date?

    public var id: String { channel.id }

    init(channel: CatalogChannel, streamKey: String, now: Date) {
        self.channel = channel
        self.streamKey = streamKey
        createdAt = now
        updatedAt = now
    }

    public init(row: Row) throws {
        channel = CatalogChannel(
            id: row[Columns.id], name: row[Columns.name], group: row[Columns.groupTitle], logo: row[Columns.logo],
            tvgID: row[Columns.tvgId], tvgName: row[Columns.tvgName], urls: try Self.decodeJSON([String].self, row[Columns.urls]),
            userAgent: row[Columns.userAgent], headers: try Self.decodeJSON([String: String].self, row[Columns.headers]),
            source: row[Columns.source], position: row[Columns.position], number: row[Columns.number]
        )
        streamKey = row[Columns.streamKey]
        createdAt = row[Columns.createdAt]
        updatedAt = row[Columns.updatedAt]
        removedAt = row[Columns.removedAt]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container[Columns.id] = channel.id
        container[Columns.streamKey] = streamKey
        container[Columns.name] = channel.name
        container[Columns.groupTitle] = channel.group
        container[Columns.logo] = channel.logo
        container[Columns.tvgId] = channel.tvgID
        container[Columns.tvgName] = channel.tvgName
        container[Columns.urls] = try Self.encodeJSON(channel.urls)
        container[Columns.userAgent] = channel.userAgent
        container[Columns.headers] = try Self.encodeJSON(channel.headers)
        container[Columns.source] = channel.source
        container[Columns.position] = channel.position
        container[Columns.number] = channel.number
        container[Columns.createdAt] = createdAt
        container[Columns.updatedAt] = updatedAt
        container[Columns.removedAt] = removedAt
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    static func encodeJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
