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
}
