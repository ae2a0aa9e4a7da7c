import Foundation
import GRDB

/// One programme as stored: the guide channel it is served under (a catalog channel's tvg-id),
/// its times, its first title (for now and next) and its XMLTV elements, already escaped and in
/// the DTD's order, so serving the guide is concatenation.
public struct StoredProgramme: Sendable, Equatable {
    public var channel: String
    public var start: Int64
    public var stop: Int64?
    public var title: String
    public var body: String

    public init(channel: String, start: Int64, stop: Int64?, title: String, body: String) {
        self.channel = channel
        self.start = start
        self.stop = stop
        self.title = title
        self.body = body
    }
}

/// A guide source's last successful import.
public struct GuideSourceRecord: Sendable, Equatable {
    public var name: String
    public var generation: Int64
    public var importedAt: Date
    public var programmes: Int
    public var channelsMapped: Int
    public var channelsUnmapped: Int
}

/// How an import writes: rows of a new generation in batches (short transactions, invisible to
/// readers, who read the source's current generation), then one short transaction that makes it
/// current and forgets the old one. A failed import leaves the previous guide as it was.
public final class GuideImportWriter {
    let database: SharecastDatabase
    public let source: String
    public let generation: Int64
    private var pending: [StoredProgramme] = []
    public private(set) var written = 0

    init(database: SharecastDatabase, source: String, generation: Int64) {
        self.database = database
        self.source = source
        self.generation = generation
    }

    public func add(_ programme: StoredProgramme) throws(StoreError) {
        pending.append(programme)
        if pending.count >= 5000 { try flush() }
    }

    func flush() throws(StoreError) {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        let source = self.source, generation = self.generation
        try database.write("guide import of \(source)") { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO guide_programmes (source, generation, channel, start, stop, title, body) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for programme in batch {
                try statement.execute(arguments: [source, generation, programme.channel, programme.start, programme.stop, programme.title, programme.body])
            }
        }
        written += batch.count
    }

    /// Makes this generation the source's guide.
    public func commit(channelsMapped: Int, channelsUnmapped: Int, now: Date = Date()) throws(StoreError) {
        try flush()
        let source = self.source, generation = self.generation, written = self.written
        try database.write("guide switch of \(source)") { db in
            try db.execute(sql: """
                INSERT INTO guide_sources (name, generation, imported_at, programmes, channels_mapped, channels_unmapped) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET generation = excluded.generation, imported_at = excluded.imported_at,
                  programmes = excluded.programmes, channels_mapped = excluded.channels_mapped, channels_unmapped = excluded.channels_unmapped
                """, arguments: [source, generation, now, written, channelsMapped, channelsUnmapped])
        }
        try database.forgetOldGuideRows(source: source, keeping: generation)
    }

    /// Drops what this import wrote (the previous guide stays).
    public func abandon() {
        pending.removeAll()
        try? database.forgetOldGuideRows(source: source, keeping: nil, only: generation)
    }
}

extension SharecastDatabase {
    /// Starts an import of `source`'s guide into a new generation.
    public func beginGuideImport(source: String) throws(StoreError) -> GuideImportWriter {
        let generation = try write("guide generation") { db -> Int64 in
            let highest = try Int64.fetchOne(db, sql: "SELECT MAX(generation) FROM guide_programmes WHERE source = ?", arguments: [source]) ?? 0
            let current = try Int64.fetchOne(db, sql: "SELECT generation FROM guide_sources WHERE name = ?", arguments: [source]) ?? 0
            return max(highest, current) + 1
        }
        return GuideImportWriter(database: self, source: source, generation: generation)
    }

    /// Deletes rows of `source` other than generation `keeping` (or only generation `only`), in
    /// batches so no transaction runs long.
    func forgetOldGuideRows(source: String, keeping: Int64?, only: Int64? = nil) throws(StoreError) {
        while true {
            let deleted = try write("guide cleanup of \(source)") { db -> Int in
                if let only {
                    try db.execute(sql: "DELETE FROM guide_programmes WHERE rowid IN (SELECT rowid FROM guide_programmes WHERE source = ? AND generation = ? LIMIT 20000)",
                                   arguments: [source, only])
                } else {
                    try db.execute(sql: "DELETE FROM guide_programmes WHERE rowid IN (SELECT rowid FROM guide_programmes WHERE source = ? AND generation <> ? LIMIT 20000)",
                                   arguments: [source, keeping ?? -1])
                }
                return db.changesCount
            }
            if deleted < 20000 { return }
        }
    }

    /// Removes the guides of sources no longer configured.
    public func removeGuideSources(except names: Set<String>) throws(StoreError) {
        let stored = try read("guide sources") { db in try String.fetchAll(db, sql: "SELECT DISTINCT source FROM guide_programmes") }
        for source in stored where !names.contains(source) {
            try forgetOldGuideRows(source: source, keeping: nil)
            try write("guide source removal") { db in try db.execute(sql: "DELETE FROM guide_sources WHERE name = ?", arguments: [source]) }
        }
    }

    public func guideSources() throws(StoreError) -> [GuideSourceRecord] {
        try read("guide sources") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM guide_sources ORDER BY name").map { row in
                GuideSourceRecord(name: row["name"], generation: row["generation"], importedAt: row["imported_at"], programmes: row["programmes"],
                                  channelsMapped: row["channels_mapped"], channelsUnmapped: row["channels_unmapped"])
            }
        }
    }

    /// The programmes of guide channel `channel` from `source`'s current guide that end after
    /// `from` and start before `until`, in time order.
    public func programmes(channel: String, source: String, from: Int64, until: Int64, limit: Int = 100_000) throws(StoreError) -> [StoredProgramme] {
        try read("guide read") { db in
            try Self.programmes(db, channel: channel, source: source, from: from, until: until, limit: limit)
        }
    }

    /// `programmes(channel:…)` for several channels in one read (rendering the guide a batch of
    /// channels at a time costs one reader checkout per batch, not per channel); channels
    /// without programmes are absent.
    public func programmes(channels: some Sequence<String>, source: String, from: Int64, until: Int64) throws(StoreError) -> [String: [StoredProgramme]] {
        try read("guide read") { db in
            var result: [String: [StoredProgramme]] = [:]
            for channel in channels {
                let rows = try Self.programmes(db, channel: channel, source: source, from: from, until: until, limit: 100_000)
                if !rows.isEmpty { result[channel] = rows }
            }
            return result
        }
    }

    /// A prepared statement kept by the connection: preparing (and GRDB's authorizer) per
    /// channel cost more than reading the rows.
    private static func programmes(_ db: Database, channel: String, source: String, from: Int64, until: Int64, limit: Int) throws -> [StoredProgramme] {
        let statement = try db.cachedStatement(sql: """
            SELECT p.channel, p.start, p.stop, p.title, p.body FROM guide_programmes p
            JOIN guide_sources s ON s.name = p.source AND s.generation = p.generation
            WHERE p.source = ? AND p.channel = ? AND p.start < ? AND COALESCE(p.stop, p.start + 3600) > ?
            ORDER BY p.start LIMIT ?
            """)
        return try Row.fetchAll(statement, arguments: [source, channel, until, from, limit]).map { row in
            StoredProgramme(channel: row[0], start: row[1], stop: row[2], title: row[3], body: row[4])
        }
    }

    /// Which sources have programmes for which guide channels (current generations only).
    public func guideCoverage() throws(StoreError) -> [String: Set<String>] {
        try read("guide coverage") { db in
            var result: [String: Set<String>] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT DISTINCT p.source, p.channel FROM guide_programmes p
                JOIN guide_sources s ON s.name = p.source AND s.generation = p.generation
                """) {
                result[row[0] as String, default: []].insert(row[1] as String)
            }
            return result
        }
    }
}
