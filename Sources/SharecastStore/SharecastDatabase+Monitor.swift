import Foundation
import GRDB
import SharecastCore

/// The history queries behind the monitor API and the scheduled jobs.
extension SharecastDatabase {
    /// Streams, newest first, optionally of one status.
    public func streams(status: SharedStreamRecord.Status? = nil, limit: Int = 500) throws(StoreError) -> [SharedStreamRecord] {
        try read("list streams") { db in
            var request = SharedStreamRecord.order(Column("started_at").desc, Column("id").desc).limit(limit)
            if let status { request = request.filter(Column("status") == status.rawValue) }
            return try request.fetchAll(db)
        }
    }

    /// One stream by its session id (the API's stream id).
    public func stream(sessionID: String) throws(StoreError) -> SharedStreamRecord? {
        try read("find stream") { db in
            try SharedStreamRecord.filter(Column("session_id") == sessionID).fetchOne(db)
        }
    }

    public func clients(ofStream streamID: Int64) throws(StoreError) -> [SharedStreamClientRecord] {
        try read("list stream clients") { db in
            try SharedStreamClientRecord.filter(Column("stream_id") == streamID).order(Column("connected_at")).fetchAll(db)
        }
    }

    public func latestStat(ofStream streamID: Int64) throws(StoreError) -> SharedStreamStatRecord? {
        try read("read latest stats") { db in
            try SharedStreamStatRecord.filter(Column("stream_id") == streamID).order(Column("sampled_at").desc).fetchOne(db)
        }
    }

    /// Rows left `starting`/`active`/`idle` by sessions that no longer run (a crash, a kill -9):
    /// marked stopped at `now`. Returns how many.
    public func markStreamsStopped(exceptSessions live: Set<String>, at now: Date = Date()) throws(StoreError) -> Int {
        try write("mark dead streams stopped") { db in
            let open = try SharedStreamRecord.filter(["starting", "active", "idle"].contains(Column("status"))).fetchAll(db)
            var marked = 0
            for var row in open where !live.contains(row.sessionId ?? "") {
                row.status = .stopped
                row.stoppedAt = row.stoppedAt ?? now
                row.updatedAt = now
                row.clientCount = 0
                try row.update(db)
                try db.execute(sql: """
                    UPDATE shared_stream_clients SET disconnected_at = ?, disconnect_reason = 'stream_stopped'
                    WHERE stream_id = ? AND disconnected_at IS NULL
                    """, arguments: [now, row.id])
                marked += 1
            }
            return marked
        }
    }

    /// Deletes stats rows sampled before `cutoff`, `batchSize` rows per transaction so that writers
    /// (the history recorder) never wait long; returns how many went.
    public func deleteStats(before cutoff: Date, batchSize: Int = 1000) throws(StoreError) -> Int {
        var total = 0
        while true {
            let deleted = try write("delete old stats") { db -> Int in
                try db.execute(sql: """
                    DELETE FROM shared_stream_stats WHERE id IN
                    (SELECT id FROM shared_stream_stats WHERE sampled_at < ? ORDER BY id LIMIT ?)
                    """, arguments: [cutoff, batchSize])
                return db.changesCount
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    /// Per stream and time bucket: the averages of its samples and the growth of its error count.
    public struct StatsBucketRow: Sendable, Equatable {
        public var bucketStart: Int64
        public var streamID: Int64
        public var averageBandwidthBps: Double
        public var averageClients: Double
        public var errorIncrease: Int
        public var samples: Int
    }

    /// Stats rows in `[from, to)` grouped by `bucketSeconds`-long buckets (aligned to the Unix
    /// epoch) and stream; optionally of one stream (by session id).
    public func statsBuckets(from: Date, to: Date, bucketSeconds: Int, sessionID: String? = nil) throws(StoreError) -> [StatsBucketRow] {
        try read("read stats buckets") { db in
            var sql = """
                SELECT (CAST(strftime('%s', s.sampled_at) AS INTEGER) / ?) * ? AS bucket, s.stream_id,
                       AVG(s.bandwidth_bps), AVG(s.client_count), MAX(s.error_count) - MIN(s.error_count), COUNT(*)
                FROM shared_stream_stats s
                """
            var arguments: StatementArguments = [bucketSeconds, bucketSeconds]
            if let sessionID {
                sql += " JOIN shared_streams t ON t.id = s.stream_id AND t.session_id = ?"
                _ = arguments.append(contentsOf: [sessionID])
            }
            sql += " WHERE s.sampled_at >= ? AND s.sampled_at < ? GROUP BY bucket, s.stream_id ORDER BY bucket, s.stream_id"
            _ = arguments.append(contentsOf: [from, to])
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                StatsBucketRow(bucketStart: row[0], streamID: row[1], averageBandwidthBps: row[2], averageClients: row[3],
                               errorIncrease: row[4], samples: row[5])
            }
        }
    }

    /// Stream rows by status, for the totals of `/api/monitor/stats`.
    public func streamCountsByStatus() throws(StoreError) -> [SharedStreamRecord.Status: Int] {
        try read("count streams") { db in
            var counts: [SharedStreamRecord.Status: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM shared_streams GROUP BY status") {
                if let status = SharedStreamRecord.Status(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }
}
