import Foundation
import GRDB
import Logging
import SharecastCore
import Testing
@testable import SharecastStore

/// What the history recorder writes, batch by batch: stream rows every time, a viewer's row when
/// it joins, when it leaves and when it is older than the refresh interval.
@Suite struct HistoryRecorderTests {
    let temporary = TemporaryDatabase()

    func stream(_ id: UUID, bytesOut: Int64, clients: [ClientSnapshot]) -> StreamSnapshot {
        StreamSnapshot(id: id, channelID: "a", sourceURL: "http://upstream/a", format: "ts", status: .active,
                       startedAt: Date(timeIntervalSince1970: 1_700_000_000), clientCount: clients.count { $0.disconnectedAt == nil },
                       bytesOut: bytesOut, clients: clients)
    }

    func viewer(_ id: UUID, bytes: Int64, left: Bool = false) -> ClientSnapshot {
        ClientSnapshot(id: id, ip: "192.0.2.7", userAgent: "vlc", connectedAt: Date(timeIntervalSince1970: 1_700_000_001),
                       lastActivityAt: Date(timeIntervalSince1970: 1_700_000_001 + Double(bytes) / 1000),
                       disconnectedAt: left ? Date(timeIntervalSince1970: 1_700_000_100) : nil, bytesSent: bytes,
                       disconnectReason: left ? .closed : nil)
    }

    @Test func viewerRowsAreRefreshedOnJoinLeaveAndAfterTheInterval() throws {
        let database = try SharecastDatabase(path: temporary.path)
        try database.syncChannels(DatabaseTests.channels(["a"]), source: CatalogChannel.configSource)
        let recorder = StreamHistoryRecorder(database: database, logger: Logger(label: "test"), clientRefreshInterval: 0.5)
        let session = UUID(), client = UUID()
        func rows() throws -> (streamBytes: Int64?, clientBytes: [Int64], reasons: [String?]) {
            try database.pool.read { db in
                (try Int64.fetchOne(db, sql: "SELECT bytes_out FROM shared_streams"),
                 try Int64.fetchAll(db, sql: "SELECT bytes_sent FROM shared_stream_clients"),
                 try Optional<String>.fetchAll(db, sql: "SELECT disconnect_reason FROM shared_stream_clients"))
            }
        }

        recorder.record([stream(session, bytesOut: 100, clients: [viewer(client, bytes: 100)])], sample: false)
        recorder.flush()
        #expect(try rows().clientBytes == [100])

        // Within the interval: the stream row moves on, the viewer's row waits.
        recorder.record([stream(session, bytesOut: 200, clients: [viewer(client, bytes: 200)])], sample: false)
        recorder.flush()
        #expect(try rows().streamBytes == 200)
        #expect(try rows().clientBytes == [100])

        // Past the interval: rewritten, still one row.
        Thread.sleep(forTimeInterval: 0.6)
        recorder.record([stream(session, bytesOut: 300, clients: [viewer(client, bytes: 300)])], sample: false)
        recorder.flush()
        #expect(try rows().clientBytes == [300])

        // Leaving is written at once, with the final figures and reason.
        recorder.record([stream(session, bytesOut: 350, clients: [viewer(client, bytes: 350, left: true)])], sample: false)
        recorder.flush()
        let final = try rows()
        #expect(final.clientBytes == [350])
        #expect(final.reasons == ["closed"])
        #expect(final.streamBytes == 350)
    }

    @Test func aRowTheDatabaseRefusesCostsThatRowOnly() throws {
        let database = try SharecastDatabase(path: temporary.path)
        try database.syncChannels(DatabaseTests.channels(["a"]), source: CatalogChannel.configSource)
        let recorder = StreamHistoryRecorder(database: database, logger: Logger(label: "test"))
        // Two sessions whose viewers share an id (what UUID() gave at descriptor exhaustion): the
        // second viewer row breaks the unique client_id, and only that row is lost.
        let shared = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        let first = UUID(), second = UUID(), other = UUID()
        for round in 1...3 {
            recorder.record([
                stream(first, bytesOut: 100, clients: [viewer(shared, bytes: 100)]),
                stream(second, bytesOut: Int64(round) * 1000, clients: [viewer(shared, bytes: 10), viewer(other, bytes: 20)]),
            ], sample: true)
        }
        recorder.flush()
        let (streams, clients, stats) = try database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shared_streams") ?? 0,
             try String.fetchAll(db, sql: "SELECT client_id FROM shared_stream_clients ORDER BY client_id"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shared_stream_stats") ?? 0)
        }
        #expect(streams == 2)
        #expect(clients == [shared.lowercasedString, other.lowercasedString].sorted())
        #expect(stats == 6, "every batch wrote both streams' samples")
        let secondBytes = try database.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT bytes_out FROM shared_streams WHERE session_id = ?", arguments: [second.lowercasedString])
        }
        #expect(secondBytes == 3000, "later batches kept writing")
    }

    @Test func idsDoNotComeFromAFileDescriptor() {
        // Many ids, all different, all version 4 variant 1.
        let ids = (0..<10_000).map { _ in RandomID.uuid() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.uuid.6 >> 4 == 4 && $0.uuid.8 >> 6 == 2 })
    }

    @Test func aStoppedStreamGetsOneLastStatsRow() throws {
        let database = try SharecastDatabase(path: temporary.path)
        try database.syncChannels(DatabaseTests.channels(["a"]), source: CatalogChannel.configSource)
        let recorder = StreamHistoryRecorder(database: database, logger: Logger(label: "test"))
        let session = UUID(), client = UUID()
        // A session shorter than the stats interval: never sampled while it ran.
        recorder.record([stream(session, bytesOut: 10, clients: [viewer(client, bytes: 10)])], sample: false)
        var stopped = stream(session, bytesOut: 20, clients: [viewer(client, bytes: 20)])
        stopped.stoppedAt = Date()
        stopped.status = .stopped
        // Recorded again while its viewer drains, then once more when the viewer is gone.
        recorder.record([stopped], sample: false)
        recorder.record([stopped], sample: true)
        stopped.clients = [viewer(client, bytes: 20, left: true)]
        recorder.record([stopped], sample: false)
        recorder.flush()
        let stats = try database.pool.read { db in try Int64.fetchAll(db, sql: "SELECT bytes_out FROM shared_stream_stats") }
        #expect(stats == [20])
    }
}
