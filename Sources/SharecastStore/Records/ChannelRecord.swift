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
        public static let createdAt = Column("created_at"), updatedAt = Column("updated_at"), removedAt = Column("removed_at")
    }

    public var id: String
    public var streamKey: String
    public var name: String
    public var groupTitle: String
    public var logo: String?
    public var tvgId: String?
    public var tvgName: String?
    public var urls: [String]
    public var userAgent: String?
    public var headers: [String: String]
    public var source: String
    public var position: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var removedAt: Date?

    public init(row: Row) throws {
        id = row[Columns.id]
        streamKey = row[Columns.streamKey]
        name = row[Columns.name]
        groupTitle = row[Columns.groupTitle]
        logo = row[Columns.logo]
        tvgId = row[Columns.tvgId]
        tvgName = row[Columns.tvgName]
        urls = try Self.decodeJSON([String].self, row[Columns.urls])
        userAgent = row[Columns.userAgent]
        headers = try Self.decodeJSON([String: String].self, row[Columns.headers])
        source = row[Columns.source]
        position = row[Columns.position]
        createdAt = row[Columns.createdAt]
        updatedAt = row[Columns.updatedAt]
        removedAt = row[Columns.removedAt]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container[Columns.id] = id
        container[Columns.streamKey] = streamKey
        container[Columns.name] = name
        container[Columns.groupTitle] = groupTitle
        container[Columns.logo] = logo
        container[Columns.tvgId] = tvgId
        container[Columns.tvgName] = tvgName
        container[Columns.urls] = try Self.encodeJSON(urls)
        container[Columns.userAgent] = userAgent
        container[Columns.headers] = try Self.encodeJSON(headers)
        container[Columns.source] = source
        container[Columns.position] = position
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

    public var channel: CatalogChannel {
        CatalogChannel(
            id: id, name: name, group: groupTitle, logo: logo, tvgID: tvgId, tvgName: tvgName, urls: urls,
            userAgent: userAgent, headers: headers, source: source, position: position
        )
    }

    /// Copies the channel's description into the row, keeping its id, key and creation time.
    mutating func update(from channel: CatalogChannel) {
        name = channel.name
        groupTitle = channel.group
        logo = channel.logo
        tvgId = channel.tvgID
        tvgName = channel.tvgName
        urls = channel.urls
        userAgent = channel.userAgent
        headers = channel.headers
        source = channel.source
        position = channel.position
    }

    init(channel: CatalogChannel, streamKey: String, now: Date) {
        id = channel.id
        self.streamKey = streamKey
        name = ""
        groupTitle = ""
        urls = []
        headers = [:]
        source = channel.source
        position = channel.position
        createdAt = now
        updatedAt = now
        update(from: channel)
    }
}
