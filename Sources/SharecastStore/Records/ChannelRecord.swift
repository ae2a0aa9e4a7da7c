import Foundation
import GRDB
import SharecastCore

/// A row of `channels`: a catalog channel with its persisted secret stream key.
public struct ChannelRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "channels"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

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
