/// A channel as Sharecast serves it, whichever source declared it.
public struct CatalogChannel: Sendable, Equatable {
    public var id: String
    public var name: String
    public var group: String
    public var logo: String?
    public var tvgID: String?
    public var tvgName: String?
    /// Upstream URLs: the primary first, then backups.
    public var urls: [String]
    public var userAgent: String?
    public var headers: [String: String]
    /// `config` for inline channels, else the playlist's name.
    public var source: String
    /// The channel's place in its source, for a stable served order.
    public var position: Int
    /// The channel's number. On the way into the store, the one asked for (`tvg-chno`, Xtream
    /// `num`, `channels[].number`); out of the store, the number assigned once and kept
    /// (`ChannelNumber`), which players and media servers key their channel lists on.
    public var number: Int?

    public init(
        id: String, name: String, group: String = "", logo: String? = nil, tvgID: String? = nil,
        tvgName: String? = nil, urls: [String], userAgent: String? = nil, headers: [String: String] = [:],
        source: String, position: Int, number: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.group = group
        self.logo = logo
        self.tvgID = tvgID
        self.tvgName = tvgName
        self.urls = urls
        self.userAgent = userAgent
        self.headers = headers
        self.source = source
        self.position = position
        self.number = number
    }

    /// The source name of channels declared inline in the configuration.
    public static let configSource = "config"
}

extension CatalogChannel {
    /// Inline channels keep the ids the configuration gives them.
    public static func fromConfig(_ definitions: [ChannelDefinition]) -> [CatalogChannel] {
        definitions.enumerated().map { position, definition in
            CatalogChannel(
                id: definition.id, name: definition.name, group: definition.group, logo: definition.logo,
                tvgID: definition.tvgID, urls: definition.urls, userAgent: definition.userAgent,
                headers: definition.headers, source: configSource, position: position, number: definition.number
            )
        }
    }

    /// Channels from a provider playlist get ids that survive re-imports: `<playlist>.<name part>`
    /// (`ChannelID.nameComponent`: the name's slug, plus a stable hash of the name when it has
    /// letters the slug cannot show). A name repeated in the file gets a hash of what tells the
    /// copies apart (tvg-id, group, tvg-name) after it, and only copies identical in all of these
    /// are numbered `-2`, `-3` in file order. The provider's URLs (which often carry rotating
    /// tokens) play no part, so a refreshed playlist maps onto the same ids and keys; the store
    /// keeps ids it already has for a name (`syncChannels`).
    public static func fromPlaylist(_ entries: [M3UEntry], playlist: String) -> [CatalogChannel] {
        var reserved = Set<String>()
        var result: [CatalogChannel] = []
        result.reserveCapacity(entries.count)
        let prefix = String(ChannelID.slug(playlist).prefix(20))
        for (position, entry) in entries.enumerated() {
            let name = entry.displayName
            let base = "\(prefix).\(ChannelID.nameComponent(name, maxLength: ChannelID.maxLength - prefix.utf8.count - 1 - 13))"
            var id = base
            if reserved.contains(id) {
                let details = [entry.tvgID ?? "", entry.group ?? "", entry.tvgName ?? ""]
                if details.contains(where: { !$0.isEmpty }) { id = "\(base)-\(ChannelID.stableHash(details.joined(separator: "\u{1F}")))" }
            }
            var copy = 1
            let numbered = id
            while !reserved.insert(id).inserted {
                copy += 1
                id = "\(numbered)-\(copy)"
            }
            result.append(CatalogChannel(
                id: id, name: name, group: entry.group ?? "", logo: entry.logo, tvgID: entry.tvgID,
                tvgName: entry.tvgName, urls: [entry.url], userAgent: entry.userAgent, headers: entry.headers, source: playlist,
                position: position, number: entry.channelNumber
            ))
        }
        return result
    }
}
