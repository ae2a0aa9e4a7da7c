import SharecastCore
import SharecastStore
import Synchronization
import SharecastSync

/// The served catalog in memory: what `/playlist.m3u` lists and how `/stream/<key>` finds a channel.
///
/// Requests read an immutable snapshot; a reload (after an import) swaps in a new one, so lookups
/// never wait on the database.
public final class ChannelCatalog: Sendable {
    public struct Snapshot: Sendable {
        public var channels: [StoredChannel] = []
        var byKey: [String: StoredChannel] = [:]
        var byID: [String: StoredChannel] = [:]
        var byNumber: [Int: StoredChannel] = [:]
        /// Made with the snapshot, as every scrape asks for it.
        public var channelIDs: Set<String> = []
        /// Counts reloads: what is derived from a snapshot (the guide's channel list) is kept
        /// until this changes.
        public internal(set) var version: UInt64 = 0

        init(channels: [StoredChannel], sourceOrder: [String]) {
            let rank = Dictionary(sourceOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            self.channels = channels.sorted { a, b in
                let left = rank[a.channel.source] ?? Int.max, right = rank[b.channel.source] ?? Int.max
                if left != right { return left < right }
                if a.channel.source != b.channel.source { return a.channel.source < b.channel.source }
                return a.channel.position < b.channel.position
            }
            byKey = Dictionary(channels.map { ($0.streamKey, $0) }, uniquingKeysWith: { first, _ in first })
            byID = Dictionary(channels.map { ($0.channel.id, $0) }, uniquingKeysWith: { first, _ in first })
            channelIDs = Set(channels.map(\.channel.id))
            byNumber = Dictionary(channels.compactMap { stored in stored.channel.number.map { ($0, stored) } }, uniquingKeysWith: { first, _ in first })
        }

        init() {}
    }

    private let snapshot = Locked(Snapshot())
    /// Sources in the configuration's order: inline channels first, then each playlist.
    let sourceOrder: [String]

    public init(sourceOrder: [String]) {
        self.sourceOrder = sourceOrder
    }

    public var current: Snapshot { snapshot.withLock { $0 } }

    public func channel(forKey key: String) -> StoredChannel? {
        snapshot.withLock { $0.byKey[key] }
    }

    /// The channel with stable number `number` (the HDHomeRun GuideNumber).
    public func channel(number: Int) -> StoredChannel? {
        snapshot.withLock { $0.byNumber[number] }
    }

    public func channel(id: String) -> StoredChannel? {
        snapshot.withLock { $0.byID[id] }
    }

    public func reload(from database: SharecastDatabase) throws(StoreError) {
        var fresh = Snapshot(channels: try database.activeChannels(), sourceOrder: sourceOrder)
        snapshot.withLock { current in
            fresh.version = current.version &+ 1
            current = fresh
        }
    }
}
