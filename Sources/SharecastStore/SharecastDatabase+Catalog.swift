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
            var existing: [String: ChannelRecord] = [:]
            for record in try ChannelRecord.fetchAll(db, keys: channels.map(\.id)) {
                existing[record.id] = record
            }
            var listed = Set<String>()
            for channel in channels where channel.source == source {
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
