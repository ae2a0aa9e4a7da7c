import Foundation
import GRDB
import SharecastCore

/// A catalog channel with its secret stream key.
public struct StoredChannel: Sendable, Equatable {
    public var channel: CatalogChannel
    public var streamKey: String
}

/// What a catalog sync changed.
public struct CatalogSyncSummary: Sendable, Equatable {
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    public var removed = 0
    /// Channels not taken because another source already has their id.
    public var conflicts: [String] = []

    public init() {}
}

extension SharecastDatabase {
    /// Makes the catalog rows of `source` match `channels`, in one transaction: new ids get a fresh
    /// key, known ids keep theirs (also when they come back after being removed), and ids the source
    /// no longer lists are marked removed, not deleted, so their keys and history survive.
    @discardableResult
    public func syncChannels(_ channels: [CatalogChannel], source: String, now: Date = Date()) throws(StoreError) -> CatalogSyncSummary {
        try write("catalog sync of \(source)") { db in
            var summary = CatalogSyncSummary()
            let channels = source == CatalogChannel.configSource ? channels : try Self.keepingStoredIDs(channels, source: source, db: db)
            var existing: [String: ChannelRecord] = [:]
            for record in try ChannelRecord.fetchAll(db, keys: channels.map(\.id)) {
                existing[record.id] = record
            }
            let numbers = try Self.channelNumbers(channels, source: source, existing: existing, db: db)
            var listed = Set<String>()
            for var channel in channels where channel.source == source {
                channel.number = numbers[channel.id]
                listed.insert(channel.id)
                if var record = existing[channel.id] {
                    if record.channel.source != source, record.removedAt == nil {
                        summary.conflicts.append(channel.id)
                        listed.remove(channel.id)
                        continue
                    }
                    let before = record
                    record.channel = channel
                    record.removedAt = nil
                    if record == before {
                        summary.unchanged += 1
                    } else {
                        record.updatedAt = now
                        try record.update(db)
                        summary.updated += 1
                    }
                } else {
                    try ChannelRecord(channel: channel, streamKey: StreamKey.generate(), now: now).insert(db)
                    summary.added += 1
                }
            }
            let staleIDs = try String.fetchAll(
                db, ChannelRecord.select(ChannelRecord.Columns.id)
                    .filter(ChannelRecord.Columns.source == source && ChannelRecord.Columns.removedAt == nil)
            ).filter { !listed.contains($0) }
            for id in staleIDs {
                try ChannelRecord.filter(key: id).updateAll(db, ChannelRecord.Columns.removedAt.set(to: now), ChannelRecord.Columns.updatedAt.set(to: now))
                summary.removed += 1
            }
            return summary
        }
    }

    /// The number of each channel of `source` to sync: the one its row has (a configured channel
    /// moves to the number it now asks for when that is free), else one from `ChannelNumber.assign`
    /// among every number any row, removed or not, holds.
    static func channelNumbers(_ channels: [CatalogChannel], source: String, existing: [String: ChannelRecord],
                               db: Database) throws -> [String: Int] {
        var taken = Set(try Int.fetchAll(db, sql: "SELECT number FROM channels WHERE number IS NOT NULL"))
        var numbers: [String: Int] = [:]
        var needing: [CatalogChannel] = []
        for channel in channels where channel.source == source {
            guard let record = existing[channel.id], record.channel.source == source || record.removedAt != nil,
                  let held = record.channel.number else {
                if existing[channel.id].map({ $0.channel.source == source || $0.removedAt != nil }) ?? true { needing.append(channel) }
                continue
            }
            if source == CatalogChannel.configSource, let wish = channel.number, wish != held,
               ChannelNumber.range.contains(wish), !taken.contains(wish) {
                taken.remove(held)
                taken.insert(wish)
                numbers[channel.id] = wish
            } else {
                numbers[channel.id] = held
            }
        }
        for (channel, number) in zip(needing, ChannelNumber.assign(needing.map(\.number), taken: &taken)) {
            numbers[channel.id] = number
        }
        return numbers
    }

    /// Playlist channels keep the id (and so the key) the store already has for their name in this
    /// source, whatever id the current naming would give: ids made by an earlier scheme (which
    /// numbered non-Latin names in file order) and ids of names whose copies moved in the file stay
    /// what players saved. A stored row matches on name and tvg-id first, then on name alone;
    /// each stored row is used once, and an id already taken in this import is never reused.
    static func keepingStoredIDs(_ channels: [CatalogChannel], source: String, db: Database) throws -> [CatalogChannel] {
        let stored = try ChannelRecord.filter(ChannelRecord.Columns.source == source)
            .order(ChannelRecord.Columns.position).fetchAll(db)
        guard !stored.isEmpty else { return channels }
        var byName: [String: [ChannelRecord]] = [:]
        for record in stored { byName[record.channel.name, default: []].append(record) }
        var result = channels
        var taken = Set<String>()
        var pending: [Int] = []
        // First the channels whose id is stored under their own name: they keep it.
        for (index, channel) in channels.enumerated() {
            if byName[channel.name]?.contains(where: { $0.id == channel.id }) == true {
                taken.insert(channel.id)
            } else {
                pending.append(index)
            }
        }
        for index in pending {
            let channel = channels[index]
            let candidates = (byName[channel.name] ?? []).filter { !taken.contains($0.id) }
            guard let match = candidates.first(where: { $0.channel.tvgID == channel.tvgID }) ?? candidates.first else {
                continue
            }
            // Never take an id another channel of this import is given by name.
            guard !channels.contains(where: { $0.id == match.id }) else { continue }
            result[index].id = match.id
            taken.insert(match.id)
        }
        return result
    }

    /// The channels currently in the catalog, in source then file order.
    public func activeChannels() throws(StoreError) -> [StoredChannel] {
        try read("catalog read") { db in
            try ChannelRecord
                .filter(ChannelRecord.Columns.removedAt == nil)
                .order(ChannelRecord.Columns.source, ChannelRecord.Columns.position)
                .fetchAll(db)
                .map { StoredChannel(channel: $0.channel, streamKey: $0.streamKey) }
        }
    }
}
