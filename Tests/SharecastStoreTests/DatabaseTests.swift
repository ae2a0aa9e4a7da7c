import Foundation
import GRDB
import SharecastCore
import Testing
@testable import SharecastStore

/// A database file in a fresh temporary directory, removed with the value.
final class TemporaryDatabase {
    let directory: String
    var path: String { directory + "/nested/sharecast.sqlite" }

    init() {
        directory = NSTemporaryDirectory() + "sharecast-store-\(UUID().uuidString)"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite struct DatabaseTests {
    static let allMigrations = ["v1-channels", "v1-shared-streams", "v1-shared-stream-clients", "v1-shared-stream-stats", "v2-shared-streams-session-id", "v3-lowercase-ids", "v4-clients-zapped-and-user", "v5-channel-number", "v6-users", "v7-stable-channel-numbers", "v8-identities", "v9-guide"]

    @Test func migratesAnEmptyFileAndReopensAMigratedOne() throws {
        let temporary = TemporaryDatabase()
        let first = try SharecastDatabase(path: temporary.path)
        #expect(try first.appliedMigrations() == Self.allMigrations)
        let tables = try first.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
        }
        #expect(tables == ["channels", "guide_programmes", "guide_sources", "identities", "shared_stream_clients", "shared_stream_stats", "shared_streams", "users"])
        let journal = try first.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        try first.syncChannels(Self.channels(["a"]), source: "config")
        try first.close()

        let second = try SharecastDatabase(path: temporary.path)
        #expect(try second.appliedMigrations() == Self.allMigrations)
        #expect(try second.activeChannels().map(\.channel.id) == ["a"])
        #expect(try second.integrityCheck() == ["ok"])
    }

    @Test func foreignKeysHoldAndDeletesCascade() throws {
        let temporary = TemporaryDatabase()
        let database = try SharecastDatabase(path: temporary.path)
        try database.syncChannels(Self.channels(["a"]), source: "config")
        let now = Date()
        try database.pool.write { db in
            var stream = SharedStreamRecord(channelId: "a", sourceUrl: "builtin:testpattern", format: .builtin, startedAt: now)
            try stream.insert(db)
            let streamID = try #require(stream.id)
            var client = SharedStreamClientRecord(streamId: streamID, clientId: "c1", ip: "127.0.0.1", userAgent: "VLC", connectedAt: now)
            try client.insert(db)
            var stat = SharedStreamStatRecord(streamId: streamID, sampledAt: now, clientCount: 1, bandwidthBps: 8_000_000, bytesIn: 1, bytesOut: 1, bufferFill: 0.5, errorCount: 0)
            try stat.insert(db)
        }
        // A client of a stream that does not exist is refused.
        #expect(throws: DatabaseError.self) {
            try database.pool.write { db in
                var orphan = SharedStreamClientRecord(streamId: 999, clientId: "c2", ip: "127.0.0.1", userAgent: nil, connectedAt: now)
                try orphan.insert(db)
            }
        }
        // So is a status outside the schema's list.
        #expect(throws: DatabaseError.self) {
            try database.pool.write { db in
                try db.execute(sql: "UPDATE shared_streams SET status = 'exploded'")
            }
        }
        // Deleting the stream takes its clients and samples with it; deleting the channel, its streams.
        try database.pool.write { db in
            _ = try SharedStreamRecord.deleteAll(db)
        }
        let counts = try database.pool.read { db in
            (try SharedStreamClientRecord.fetchCount(db), try SharedStreamStatRecord.fetchCount(db))
        }
        #expect(counts == (0, 0))
        try database.pool.write { db in
            var stream = SharedStreamRecord(channelId: "a", sourceUrl: "x", format: .ts, startedAt: now)
            try stream.insert(db)
            _ = try ChannelRecord.deleteAll(db)
        }
        #expect(try database.pool.read { db in try SharedStreamRecord.fetchCount(db) } == 0)
    }

    @Test func keysSurviveReimportsAndRemovalsAndRestarts() throws {
        let temporary = TemporaryDatabase()
        var database = try SharecastDatabase(path: temporary.path)
        var summary = try database.syncChannels(Self.channels(["a", "b"], source: "provider"), source: "provider")
        #expect(summary.added == 2)
        let keys = Dictionary(uniqueKeysWithValues: try database.activeChannels().map { ($0.channel.id, $0.streamKey) })
        #expect(Set(keys.values).count == 2)

        summary = try database.syncChannels(Self.channels(["b"], source: "provider"), source: "provider")
        #expect(summary.removed == 1 && summary.updated == 1) // b moved up a place
        #expect(try database.activeChannels().map(\.channel.id) == ["b"])

        try database.close()
        database = try SharecastDatabase(path: temporary.path)
        summary = try database.syncChannels(Self.channels(["a", "b"], source: "provider"), source: "provider")
        #expect(summary.added == 0 && summary.updated == 2)
        #expect(try database.syncChannels(Self.channels(["a", "b"], source: "provider"), source: "provider").unchanged == 2)
        let again = Dictionary(uniqueKeysWithValues: try database.activeChannels().map { ($0.channel.id, $0.streamKey) })
        #expect(again == keys)
    }

    @Test func anotherSourceCannotTakeAChannelId() throws {
        let temporary = TemporaryDatabase()
        let database = try SharecastDatabase(path: temporary.path)
        try database.syncChannels(Self.channels(["x"], source: "provider"), source: "provider")
        let summary = try database.syncChannels(Self.channels(["x"]), source: "config")
        #expect(summary.conflicts == ["x"])
        #expect(try database.activeChannels().map(\.channel.source) == ["provider"])
    }

    @Test func unopenableFileIsAnErrorNamingThePath() {
        #expect(throws: StoreError.self) { try SharecastDatabase(path: "/proc/self/nope/db.sqlite") }
        do {
            _ = try SharecastDatabase(path: "/proc/self/nope/db.sqlite")
        } catch {
            #expect(error.description.contains("/proc/self/nope/db.sqlite"))
        }
    }

    @Test func idsStoredInUpperCaseAreLowerCasedOnce() throws {
        let temporary = TemporaryDatabase()
        try FileManager.default.createDirectory(atPath: (temporary.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let session = UUID(), client = UUID()
        do {
            let queue = try DatabaseQueue(path: temporary.path)
            try Migrations.migrator.migrate(queue, upTo: "v2-shared-streams-session-id")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO channels (id, stream_key, name, urls, source, position, created_at, updated_at)
                    VALUES ('a', 'k', 'A', '[]', 'config', 0, '2026-01-01', '2026-01-01');
                    INSERT INTO shared_streams (id, channel_id, source_url, format, status, started_at, updated_at, session_id)
                    VALUES (1, 'a', 'u', 'ts', 'stopped', '2026-01-01', '2026-01-01', ?);
                    INSERT INTO shared_stream_clients (stream_id, client_id, ip, connected_at, last_activity_at)
                    VALUES (1, ?, '127.0.0.1', '2026-01-01', '2026-01-01');
                    """, arguments: [session.uuidString, client.uuidString])
            }
        }
        let database = try SharecastDatabase(path: temporary.path)
        let ids = try database.pool.read { db in
            (try String.fetchOne(db, sql: "SELECT session_id FROM shared_streams"), try String.fetchOne(db, sql: "SELECT client_id FROM shared_stream_clients"))
        }
        #expect(ids.0 == session.lowercasedString && ids.1 == client.lowercasedString)
        #expect(try database.stream(sessionID: session.lowercasedString) != nil)
    }

    @Test func storedIdsOfAnEarlierSchemeKeepTheirKeysWhateverTheOrder() throws {
        let temporary = TemporaryDatabase()
        let database = try SharecastDatabase(path: temporary.path)
        // What the earlier naming stored: non-Latin names numbered in file order.
        let names = ["日本テレビ", "ＴＢＳテレビ", "フジテレビ"]
        let old = names.enumerated().map { index, name in
            CatalogChannel(id: index == 0 ? "q.channel" : "q.channel-\(index + 1)", name: name, urls: ["http://p/\(index)"], source: "q", position: index)
        }
        try database.syncChannels(old, source: "q")
        let before = Dictionary(uniqueKeysWithValues: try database.activeChannels().map { ($0.channel.name, ($0.channel.id, $0.streamKey)) })

        // The provider's file again, lines swapped, imported with today's naming.
        let entries = names.reversed().enumerated().map { M3UEntry(line: $0.offset + 1, title: $0.element, url: "http://p/new\($0.offset)") }
        let summary = try database.syncChannels(CatalogChannel.fromPlaylist(entries, playlist: "q"), source: "q")
        #expect(summary.added == 0 && summary.removed == 0)
        let after = Dictionary(uniqueKeysWithValues: try database.activeChannels().map { ($0.channel.name, ($0.channel.id, $0.streamKey)) })
        for name in names {
            #expect(after[name]?.0 == before[name]?.0 && after[name]?.1 == before[name]?.1, "\(name): \(String(describing: before[name])) -> \(String(describing: after[name]))")
        }

        // A new non-Latin channel gets a name-made id, not a number.
        let more = entries + [M3UEntry(line: 9, title: "テレビ東京", url: "http://p/9")]
        try database.syncChannels(CatalogChannel.fromPlaylist(more, playlist: "q"), source: "q")
        let added = try #require(try database.activeChannels().first { $0.channel.name == "テレビ東京" })
        #expect(added.channel.id == "q." + ChannelID.nameComponent("テレビ東京"))
    }

    @Test func channelNumbersAreGivenOnceAndSurviveARenumberedReorderedList() throws {
        let temporary = TemporaryDatabase()
        let database = try SharecastDatabase(path: temporary.path)
        func numbers() throws -> [String: Int] {
            Dictionary(uniqueKeysWithValues: try database.activeChannels().map { ($0.channel.id, $0.channel.number ?? -1) })
        }
        // The provider numbers two of three channels; the third gets the next free number.
        var list = Self.channels(["a", "b", "c"], source: "p")
        list[0].number = 7
        list[2].number = 3
        try database.syncChannels(list, source: "p")
        #expect(try numbers() == ["a": 7, "b": 8, "c": 3])

        // The provider reorders and renumbers its list: every channel keeps its number.
        var reordered = Self.channels(["c", "b", "a"], source: "p")
        reordered[0].number = 1
        reordered[1].number = 2
        reordered[2].number = 3
        try database.syncChannels(reordered, source: "p")
        #expect(try numbers() == ["a": 7, "b": 8, "c": 3])

        // Another provider asking for taken numbers gets new ones; a free one it gets.
        var other = Self.channels(["x", "y"], source: "q")
        other[0].number = 7
        other[1].number = 20
        try database.syncChannels(other, source: "q")
        #expect(try numbers() == ["a": 7, "b": 8, "c": 3, "x": 21, "y": 20])

        // A removed channel's number is never given to another, and is its own again when it comes back.
        try database.syncChannels(Array(Self.channels(["a", "b", "c"], source: "p")[0...1]), source: "p")
        var newcomer = Self.channels(["z"], source: "r")
        newcomer[0].number = 3
        try database.syncChannels(newcomer, source: "r")
        #expect(try numbers()["z"] == 22)
        try database.syncChannels(Self.channels(["a", "b", "c"], source: "p"), source: "p")
        #expect(try numbers()["c"] == 3)

        // A configured channel moves to the number it asks for when that is free, not when it is held.
        var configured = Self.channels(["k"])
        configured[0].number = 50
        try database.syncChannels(configured, source: CatalogChannel.configSource)
        configured[0].number = 60
        try database.syncChannels(configured, source: CatalogChannel.configSource)
        #expect(try numbers()["k"] == 60)
        configured[0].number = 7
        try database.syncChannels(configured, source: CatalogChannel.configSource)
        #expect(try numbers()["k"] == 60)
        #expect(Set(try numbers().values).count == 7)
    }

    @Test func theNumberingStepKeepsTheFirstOfSharedNumbersAndNumbersTheRest() throws {
        let temporary = TemporaryDatabase()
        try FileManager.default.createDirectory(atPath: (temporary.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        do {
            let queue = try DatabaseQueue(path: temporary.path)
            try Migrations.migrator.migrate(queue, upTo: "v6-users")
            try queue.write { db in
                for (index, (id, number)) in [("a", 5), ("b", 5), ("c", nil), ("d", 2)].enumerated() {
                    try db.execute(sql: """
                        INSERT INTO channels (id, stream_key, name, urls, source, position, created_at, updated_at, number)
                        VALUES (?, ?, ?, '[]', 'p', ?, '2026-01-01', '2026-01-01', ?)
                        """, arguments: [id, "key-\(id)", id, index, number])
                }
            }
        }
        let database = try SharecastDatabase(path: temporary.path)
        let numbers = Dictionary(uniqueKeysWithValues: try database.activeChannels().map { ($0.channel.id, $0.channel.number ?? -1) })
        #expect(numbers == ["a": 5, "b": 6, "c": 7, "d": 2])
        // From now on the index refuses a second holder.
        #expect(throws: (any Error).self) {
            try database.pool.write { db in try db.execute(sql: "UPDATE channels SET number = 5 WHERE id = 'd'") }
        }
    }

    static func channels(_ ids: [String], source: String = CatalogChannel.configSource) -> [CatalogChannel] {
        ids.enumerated().map { position, id in
            CatalogChannel(id: id, name: id.uppercased(), urls: ["http://upstream/\(id)"], source: source, position: position)
        }
    }
}
