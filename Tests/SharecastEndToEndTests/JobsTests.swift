import Foundation
import GRDB
import Logging
@testable import SharecastApp
import SharecastCore
import SharecastMetrics
import SharecastStore
import SharecastSync
import Testing

/// The scheduled jobs, with intervals of a second.
@Suite struct JobsTests {
    static func fastJobs(_ config: inout SharecastConfig) {
        config.sharedStreaming.monitoring.cleanupInterval = 1
        config.sharedStreaming.monitoring.healthCheckInterval = 1
        config.sharedStreaming.monitoring.statsInterval = 1
        config.sharedStreaming.monitoring.bufferCheckInterval = 1
        config.sharedStreaming.monitoring.retentionInterval = 1
        config.sharedStreaming.monitoring.streamTimeout = 2
        config.sharedStreaming.monitoring.statsRetentionDays = 1
        // Long enough that the watching viewer (a thread of this busy test process) is never taken
        // for a stuck one, which once let cleanup stop its stream before the orphan check.
        config.sharedStreaming.clientTimeout = 4
        // Without the cleanup job an idle stream would wait a minute.
        config.sharedStreaming.gracePeriod = 60
    }

    static func count(_ database: SharecastDatabase, _ sql: String) throws -> Int {
        try database.pool.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    @Test func jobsCleanSampleRemoveOrphansAndDeleteOldStats() async throws {
        let setup = try SharedStreamingTests.Setup(originBitsPerSecond: 8_000_000, configure: Self.fastJobs)
        let database = setup.app.database
        let buffers = setup.config.sharedStreaming.bufferPath

        // Orphan ring files: one of this process that no session owns (two minutes old), one of a
        // process that is gone. A file that is not a ring stays.
        try FileManager.default.createDirectory(atPath: buffers, withIntermediateDirectories: true)
        let ghost = "\(buffers)/sharecast-ring-\(getpid())-ghost.ts", dead = "\(buffers)/sharecast-ring-999999-old.ts"
        let other = "\(buffers)/notes.txt"
        for path in [ghost, dead, other] { _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: ghost)

        // A stats row older than the retention, on a stream row of its own.
        try await database.pool.write { db in
            var stream = SharedStreamRecord(channelId: "a", sourceUrl: "http://x/", format: .ts, status: .stopped, startedAt: Date().addingTimeInterval(-3 * 86_400))
            try stream.insert(db)
            var old = SharedStreamStatRecord(streamId: stream.id ?? 0, sampledAt: Date().addingTimeInterval(-3 * 86_400), clientCount: 1,
                                             bandwidthBps: 1, bytesIn: 1, bytesOut: 1, bufferFill: 0, errorCount: 0)
            try old.insert(db)
        }

        let watcher = try setup.viewer("a")
        let stuck = try setup.viewer("b", receiveBufferBytes: 4096)
        stuck.paused.store(true, ordering: .releasing)
        try await waitUntil { watcher.bodyCount > 10_000 }

        // Stats rows every interval for the running streams.
        try await waitUntil(timeout: .seconds(8)) {
            try Self.count(database, "SELECT COUNT(*) FROM shared_stream_stats s JOIN shared_streams t ON t.id = s.stream_id WHERE t.channel_id = 'a' AND t.session_id IS NOT NULL") >= 3
        }
        // The viewer that stopped reading is dropped as timed out.
        try await waitUntil(timeout: .seconds(15)) { setup.stream("b").map { $0.clientCount == 0 } ?? true }
        // Orphans removed, the other file kept; the old stats row deleted.
        try await waitUntil(timeout: .seconds(5)) { !FileManager.default.fileExists(atPath: ghost) && !FileManager.default.fileExists(atPath: dead) }
        #expect(FileManager.default.fileExists(atPath: other))
        #expect(try Self.count(database, "SELECT COUNT(*) FROM shared_stream_stats WHERE sampled_at < datetime('now', '-2 days')") == 0)
        // Live rings are not orphans.
        #expect(setup.app.sessions.snapshots().contains { $0.channelID == "a" })

        // The last viewer of a leaves: the stream would wait out its 60 s grace, but it has been
        // idle past stream_timeout, so cleanup stops it.
        watcher.close()
        try await waitUntil(timeout: .seconds(8)) { setup.stream("a") == nil }

        let scrape = String(decoding: try await APIClient(port: setup.app.port).get("/metrics").body, as: UTF8.self)
        for job in ["cleanup", "monitor_update", "buffer_management", "retention"] {
            let line = scrape.split(separator: "\n").first { $0.hasPrefix(#"sharecast_job_runs_total{job_name="\#(job)",result="success"}"#) }
            #expect((line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0) >= 1, "\(job) ran")
            #expect(scrape.contains(#"sharecast_job_last_success_timestamp_seconds{job_name="\#(job)"} 17"#), "\(job) succeeded")
        }
    }

    @Test func overTheDiskBudgetIdleStreamsAreStopped() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { config in
            config.sharedStreaming.monitoring.bufferCheckInterval = 1
            config.sharedStreaming.gracePeriod = 60
            config.sharedStreaming.bufferSize = 1 << 20
            // Room for one ring: a second running stream is one too many once it has no viewers.
            config.sharedStreaming.bufferDiskBudget = (1 << 20) + 1000
        })
        let watcher = try setup.viewer("a")
        let leaving = try setup.viewer("b")
        try await waitUntil { watcher.bodyCount > 10_000 && leaving.bodyCount > 10_000 }
        leaving.close()
        try await waitUntil(timeout: .seconds(5)) { setup.stream("b") == nil }
        // The stream with a viewer stays, over budget or not.
        #expect(setup.stream("a")?.clientCount == 1)
    }

    @Test func aJobThatThrowsIsCountedAndRetried() async throws {
        // Written by the jobs thread, read by the test: behind a lock (TSan found the plain var).
        let attempts = Locked(0)
        let registry = MetricsRegistry()
        struct Flaky: Error {}
        let scheduler = JobScheduler(jobs: [Job(name: "flaky", interval: .milliseconds(100)) {
            let count = attempts.withLock { count -> Int in
                count += 1
                return count
            }
            if count <= 2 { throw Flaky() }
            return "fine"
        }], registry: registry, logger: Logger(label: "test"))
        scheduler.start()
        defer { scheduler.stop() }
        try await waitUntil { attempts.withLock { $0 } >= 4 }
        scheduler.stop()
        let text = registry.exposeText(.prometheus)
        #expect(text.contains(#"sharecast_job_runs_total{job_name="flaky",result="failure"} 2"#))
        #expect(text.contains(#"sharecast_job_runs_total{job_name="flaky",result="success"} \#(attempts.withLock { $0 } - 2)"#))
    }
}
