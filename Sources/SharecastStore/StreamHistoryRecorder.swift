import Foundation
import GRDB
import Logging
import SharecastCore

/// Keeps stream history in SQLite from the streaming layer's snapshots: one `shared_streams` row per
/// session, one `shared_stream_clients` row per viewer, a `shared_stream_stats` row per sample.
///
/// `record` only queues; a serial queue writes each batch in one transaction, so the streaming
/// layer never waits on the database, and a second of activity costs one commit.
///
/// Stream rows are written with every batch; a viewer's row when it joins, when it leaves, and
/// otherwise at most every `clientRefreshInterval` (its bytes and last activity are live in the
/// monitor API anyway): with a thousand viewers, rewriting every row every second cost a third of
/// a core.
public final class StreamHistoryRecorder: StreamRecorder {
    struct Rows {
        var streams: [UUID: Int64] = [:]
        /// Row id and when it was last written, for viewers still connected.
        var clients: [UUID: (id: Int64, writtenAt: Date)] = [:]
        /// Streams and viewers whose row the database refused, logged once while they last.
        var refused: Set<UUID> = []
        /// Stopped streams whose last stats row is written.
        var finalSampled: Set<UUID> = []
    }

    let database: SharecastDatabase
    let logger: Logger
    /// Told how long each batch took to write, in seconds (for `sharecast_db_write_duration_seconds`).
    let onWrite: (@Sendable (Double) -> Void)?
    /// How stale a connected viewer's row may get before it is rewritten.
    let clientRefreshInterval: TimeInterval
    private let queue = DispatchQueue(label: "sharecast.history")
    /// Touched only on `queue`.
    nonisolated(unsafe) private var rows = Rows()

    public init(
        database: SharecastDatabase, logger: Logger, clientRefreshInterval: TimeInterval = 10,
        onWrite: (@Sendable (Double) -> Void)? = nil
    ) {
        self.database = database
        self.logger = logger
        self.clientRefreshInterval = clientRefreshInterval
        self.onWrite = onWrite
    }

    public func record(_ streams: [StreamSnapshot], sample: Bool) {
        guard !streams.isEmpty else { return }
        let now = Date()
        queue.async { [self] in
            let started = ContinuousClock.now
            do {
                try database.pool.write { db in try write(streams, sample: sample, now: now, db: db) }
                let elapsed = ContinuousClock.now - started
                onWrite?(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            } catch {
                logger.error("stream history not written", metadata: ["error": "\(error)"])
            }
        }
    }

    public func flush() {
        queue.sync {}
    }

    /// Writes each stream, and each viewer row, in its own savepoint: a row the database refuses
    /// (a constraint, a value out of range) costs that row only, never the batch, and is logged
    /// once per stream or viewer, not with every batch.
    private func write(_ streams: [StreamSnapshot], sample: Bool, now: Date, db: Database) throws {
        for stream in streams {
            do {
                try db.inSavepoint {
                    try write(stream, sample: sample, now: now, db: db)
                    return .commit
                }
            } catch {
                if rows.refused.insert(stream.id).inserted {
                    logger.error("stream history row refused; the other streams are written", metadata: [
                        "stream": "\(stream.id.lowercasedString)", "channel": "\(stream.channelID)", "error": "\(error)",
                    ])
                }
            }
            if stream.stoppedAt != nil { rows.refused.remove(stream.id) }
        }
    }

    private func write(_ stream: StreamSnapshot, sample: Bool, now: Date, db: Database) throws {
        var row = SharedStreamRecord(
            channelId: stream.channelID, sourceUrl: stream.sourceURL,
            format: SharedStreamRecord.Format(rawValue: stream.format) ?? .ts,
            status: stream.status, startedAt: stream.startedAt
        )
        row.sessionId = stream.id.lowercasedString
        row.id = try rows.streams[stream.id]
            ?? Int64.fetchOne(db, sql: "SELECT id FROM shared_streams WHERE session_id = ?", arguments: [stream.id.lowercasedString])
        row.stoppedAt = stream.stoppedAt
        row.updatedAt = now
        row.health = stream.status == .error ? .unhealthy : (stream.lastDataAt.map { now.timeIntervalSince($0) < 10 } ?? false ? .healthy : .unknown)
        row.clientCount = stream.clientCount
        row.peakClientCount = stream.peakClientCount
        row.bytesIn = stream.bytesIn
        row.bytesOut = stream.bytesOut
        row.bandwidthBps = stream.bandwidthBitsPerSecond
        row.errorCount = stream.errorCount
        row.restartCount = stream.restartCount
        row.lastError = stream.lastError
        // Insert when new, update when the row is known.
        try row.save(db)
        guard let streamID = row.id else { return }
        rows.streams[stream.id] = streamID

        for client in stream.clients {
            let known = rows.clients[client.id]
            if let known, client.disconnectedAt == nil, now.timeIntervalSince(known.writtenAt) < clientRefreshInterval {
                continue
            }
            var clientRow = SharedStreamClientRecord(
                streamId: streamID, clientId: client.id.lowercasedString, ip: client.ip, userAgent: client.userAgent,
                connectedAt: client.connectedAt
            )
            clientRow.id = known?.id
            clientRow.lastActivityAt = client.lastActivityAt
            clientRow.disconnectedAt = client.disconnectedAt
            clientRow.bytesSent = client.bytesSent
            clientRow.disconnectReason = client.disconnectReason
            clientRow.userName = client.user
            do {
                try db.inSavepoint {
                    try clientRow.save(db)
                    return .commit
                }
            } catch {
                if rows.refused.insert(client.id).inserted {
                    logger.error("viewer history row refused; the other rows are written", metadata: [
                        "client": "\(client.id.lowercasedString)", "channel": "\(stream.channelID)", "error": "\(error)",
                    ])
                }
                if client.disconnectedAt != nil { rows.refused.remove(client.id) }
                continue
            }
            if client.disconnectedAt == nil, let id = clientRow.id {
                rows.clients[client.id] = (id, now)
            } else {
                rows.clients[client.id] = nil
            }
        }
        // Running streams are sampled on schedule; a stream that stopped gets one last row, so even
        // a session shorter than the interval has its figures in the stats.
        let finalSample = stream.stoppedAt != nil && rows.finalSampled.insert(stream.id).inserted
        if (sample && stream.stoppedAt == nil) || finalSample {
            var stat = SharedStreamStatRecord(
                streamId: streamID, sampledAt: now, clientCount: stream.clientCount, bandwidthBps: stream.bandwidthBitsPerSecond,
                bytesIn: stream.bytesIn, bytesOut: stream.bytesOut, bufferFill: stream.bufferFill, errorCount: stream.errorCount
            )
            try stat.insert(db)
        }
        if stream.stoppedAt != nil, !stream.clients.contains(where: { $0.disconnectedAt == nil }) {
            rows.streams[stream.id] = nil
            rows.finalSampled.remove(stream.id)
        }
    }
}
