import Foundation
import GRDB
import Logging
import SharecastApp
import SharecastCore
import SharecastStore
import SharecastTS
import Testing

/// The reason Sharecast exists, tested against a real origin that counts its connections: one
/// upstream per channel, whatever the number of viewers, and what happens when things go wrong.
@Suite struct SharedStreamingTests {
    /// An origin, an application whose channels point at it, and the temporary files of both.
    final class Setup: @unchecked Sendable {
        let origin: TestOrigin
        let app: Application
        let directory: TemporaryDirectory
        var config: SharecastConfig

        init(
            originBitsPerSecond: Int64? = nil,
            channels: (Int) -> [ChannelDefinition] = { port in
                [ChannelDefinition(id: "a", name: "A", urls: ["http://127.0.0.1:\(port)/a.ts"]),
                 ChannelDefinition(id: "b", name: "B", urls: ["http://127.0.0.1:\(port)/b.ts"])]
            },
            configure: (inout SharecastConfig) -> Void = { _ in }
        ) throws {
            var logger = Logger(label: "test")
            logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] != nil ? .info : .critical
            origin = try TestOrigin(port: 0, targetBitsPerSecond: originBitsPerSecond, logger: logger)
            directory = try TemporaryDirectory()
            var config = SharecastConfig.forTest(in: directory)
            config.sharedStreaming.gracePeriod = 1
            // These tests open dozens of viewers from one address at once.
            config.security.streamRatePerMinute = 0
            config.sharedStreaming.upstream.backoffInitialMs = 100
            config.sharedStreaming.upstream.backoffMaxMs = 500
            config.channels = channels(origin.port)
            configure(&config)
            self.config = config
            app = try Application(config: config, logger: logger)
        }

        func path(_ channel: String) -> String {
            let key = app.catalog.current.channels.first { $0.channel.id == channel }?.streamKey ?? "missing"
            return "/stream/\(key)"
        }

        func viewer(_ channel: String, receiveBufferBytes: Int32? = nil) throws -> Viewer {
            try Viewer(port: app.port, path: path(channel), receiveBufferBytes: receiveBufferBytes)
        }

        func stream(_ channel: String) -> StreamSnapshot? {
            app.sessions.snapshots().first { $0.channelID == channel }
        }

        /// Stops the application and returns its database, reopened.
        func finish() throws -> SharecastDatabase {
            app.shutdown()
            origin.shutdown()
            return try SharecastDatabase(path: config.database.path)
        }

        deinit {
            app.shutdown()
            origin.shutdown()
        }
    }

    /// What the origin sends on a connection: the test pattern from its first packet.
    static let reference: [UInt8] = {
        guard let clip = TSClip.testPattern else { return [] }
        var generator = TestPatternGenerator(clip: clip)
        var bytes = [UInt8](repeating: 0, count: 8 << 20)
        let count = bytes.withUnsafeMutableBytes { generator.read(dueBy: .max, into: $0) }
        return Array(bytes.prefix(count))
    }()

    /// Where `received` sits in the origin's stream, if it is one contiguous slice of it that starts
    /// on a packet boundary.
    static func sliceOffset(_ received: [UInt8], in reference: [UInt8] = reference) -> Int? {
        guard received.count >= 188 * 8 else { return nil }
        let probe = Array(received.prefix(188 * 8))
        var offset = 0
        while offset + received.count <= reference.count {
            if reference[offset..<(offset + probe.count)].elementsEqual(probe) {
                return reference[offset..<(offset + received.count)].elementsEqual(received) ? offset : nil
            }
            offset += 188
        }
        return nil
    }

    @Test func fiftyViewersShareOneUpstreamAndGetContiguousPacketAlignedSlices() async throws {
        let setup = try Setup()
        let viewers = try (0..<50).map { _ in try setup.viewer("a") }
        try await waitUntil(timeout: .seconds(20)) { viewers.allSatisfy { $0.bodyCount >= 100_000 } }
        #expect(setup.origin.counts.connectionsServed == 1)
        #expect(viewers.allSatisfy { $0.status == 200 && $0.header("Content-Type") == "video/mp2t" && $0.header("Content-Length") == nil })
        for viewer in viewers { viewer.close() }
        var offsets = Set<Int>()
        for viewer in viewers {
            let body = viewer.body
            let offset = Self.sliceOffset(body)
            #expect(offset != nil, "a viewer's \(body.count) bytes are not a contiguous, aligned slice of the origin's stream")
            if let offset { offsets.insert(offset) }
        }
        // Viewers start at a join point (a PAT before a keyframe), or at the very start of the
        // upstream when they came before its first keyframe.
        for offset in offsets where offset != 0 {
            #expect(Self.reference[offset] == 0x47)
            #expect(Array(Self.reference[offset..<offset + 188]).withUnsafeBytes { TSPacket.pid($0) } == 0)
        }

        let other = try setup.viewer("b")
        try await waitUntil { other.bodyCount > 10_000 }
        #expect(setup.origin.counts.connectionsServed == 2)
    }

    @Test func aViewerThatStopsReadingIsDroppedAsLaggingWhileOthersKeepPace() async throws {
        // The ring holds 2 s at the origin's 8 Mbit/s, more than the origin's 1 s opening burst.
        let setup = try Setup(originBitsPerSecond: 8_000_000, configure: { config in
            config.sharedStreaming.bufferSize = 2 * 1024 * 1024
        })
        let slow = try setup.viewer("a", receiveBufferBytes: 4096)
        let fast = try setup.viewer("a")
        try await waitUntil { slow.bodyCount > 0 && fast.bodyCount > 0 }
        slow.paused.store(true, ordering: .releasing)
        try await waitUntil(timeout: .seconds(20)) { setup.stream("a")?.clientCount == 1 }

        // The remaining viewer receives at the origin's rate: 2 s at 8 Mbit/s is 2 MB.
        let before = fast.bodyCount
        try await Task.sleep(for: .seconds(2))
        let gained = fast.bodyCount - before
        #expect(gained > 1_600_000, "the fast viewer got \(gained) bytes in 2 s")

        let database = try setup.finish()
        let reasons = try await database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT disconnect_reason FROM shared_stream_clients ORDER BY connected_at, id")
        }
        #expect(reasons.contains("lagging"))
        #expect(setup.origin.counts.connectionsServed == 1)
    }

    /// A viewer that stops reading while data waits for it, far from a ring behind, is closed after
    /// client_timeout with reason `timeout` (its socket full, nothing moves).
    @Test func aViewerThatStopsReadingIsClosedAfterTheClientTimeout() async throws {
        // At 8 Mbit/s the socket buffers of the stalled viewer fill in seconds; a ring of 32 s
        // keeps it far from a ring behind (which would be `lagging`).
        let setup = try Setup(originBitsPerSecond: 8_000_000, configure: { config in
            config.sharedStreaming.clientTimeout = 2
            config.sharedStreaming.bufferSize = 32 * 1024 * 1024
        })
        let stalled = try setup.viewer("a", receiveBufferBytes: 4096)
        try await waitUntil { stalled.bodyCount > 0 }
        stalled.paused.store(true, ordering: .releasing)
        // Gone from the session (which may then end after its grace period).
        try await waitUntil(timeout: .seconds(30)) { setup.stream("a").map { $0.clientCount == 0 } ?? true }
        let database = try setup.finish()
        let reasons = try await database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT disconnect_reason FROM shared_stream_clients")
        }
        #expect(reasons == ["timeout"])
    }

    @Test func withTheSkipPolicyALaggingViewerJumpsToTheNewestKeyframe() async throws {
        let setup = try Setup(originBitsPerSecond: 8_000_000, configure: { config in
            config.sharedStreaming.bufferSize = 2 * 1024 * 1024
            config.sharedStreaming.lagPolicy = .skip
        })
        let slow = try setup.viewer("a", receiveBufferBytes: 4096)
        try await waitUntil { slow.bodyCount > 0 }
        slow.paused.store(true, ordering: .releasing)
        // Paused until the upstream has sent more than the ring and the kernel's largest send
        // buffer could hold for it (a fixed 5 s was sometimes not enough to lap the viewer).
        let sendBufferMax = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_wmem", encoding: .utf8))
            .flatMap { $0.split(whereSeparator: \.isWhitespace).last.flatMap { Int64($0) } } ?? 4 << 20
        let inAtPause = setup.stream("a")?.bytesIn ?? 0
        try await waitUntil(timeout: .seconds(30)) {
            (setup.stream("a")?.bytesIn ?? 0) - inAtPause > 2 * 1024 * 1024 + sendBufferMax + 1024 * 1024
        }
        let pausedAt = slow.bodyCount
        slow.paused.store(false, ordering: .releasing)
        try await waitUntil { slow.bodyCount > pausedAt + 4_000_000 }
        #expect(setup.stream("a")?.clientCount == 1)
        slow.close()

        // Every packet whole, and where the bytes stop following on, a PAT: the skip landed on a
        // join point at a packet boundary.
        var body = slow.body
        body.removeLast(body.count % 188)
        #expect(stride(from: 0, to: body.count, by: 188).allSatisfy { body[$0] == 0x47 })
        guard let clip = TSClip.testPattern else { return }
        var generator = TestPatternGenerator(clip: clip, targetBitsPerSecond: 8_000_000)
        var reference = [UInt8](repeating: 0, count: 64 << 20)
        let length = reference.withUnsafeMutableBytes { generator.read(dueBy: .max, into: $0) }
        reference.removeSubrange(length...)
        let start = try #require(Self.sliceOffset(Array(body.prefix(188 * 16)), in: reference))
        var gap = 0
        while gap < body.count, start + gap < reference.count, body[gap] == reference[start + gap] { gap += 1 }
        try #require(gap + 188 <= body.count, "no skip happened")
        let gapPacket = gap / 188 * 188
        let skippedTo = Array(body[gapPacket..<(gapPacket + 188)])
        #expect(skippedTo.withUnsafeBytes { TSPacket.pid($0) } == 0)
    }

    @Test func viewersStayConnectedWhileTheOriginRestarts() async throws {
        // Enough attempts to outlast a slow restart on a loaded machine (five gave up after ~1.2 s
        // once in CI while fuzzers ran beside it).
        let setup = try Setup(configure: { $0.sharedStreaming.upstream.maxAttempts = 50 })
        let viewer = try setup.viewer("a")
        try await waitUntil { viewer.bodyCount > 50_000 }
        let port = setup.origin.port
        setup.origin.shutdown()
        try await waitUntil { (setup.stream("a")?.errorCount ?? 0) >= 1 }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let restarted = try TestOrigin(port: port, logger: logger)
        defer { restarted.shutdown() }
        let before = viewer.bodyCount
        try await waitUntil(timeout: .seconds(5)) { viewer.bodyCount > before + 20_000 }
        #expect(!viewer.ended)
        #expect((setup.stream("a")?.restartCount ?? 0) >= 1)
        #expect(restarted.counts.connectionsServed == 1)
    }

    @Test func aDeadPrimaryFailsOverToTheBackup() async throws {
        let setup = try Setup(channels: { port in
            [ChannelDefinition(id: "a", name: "A", urls: ["http://127.0.0.1:1/dead.ts", "http://127.0.0.1:\(port)/a.ts"])]
        })
        let viewer = try setup.viewer("a")
        try await waitUntil(timeout: .seconds(5)) { viewer.bodyCount > 50_000 }
        let stream = try #require(setup.stream("a"))
        #expect(stream.restartCount >= 1 && stream.errorCount >= 1)
        #expect(stream.sourceURL.hasSuffix("/a.ts"))
        #expect(setup.origin.counts.connectionsServed == 1)
        // The metrics say the channel runs on its backup.
        let scrape = String(decoding: try await APIClient(port: setup.app.port).get("/metrics").body, as: UTF8.self)
        #expect(scrape.contains(#"sharecast_stream_upstream_backup{channel="a"} 1"#))
        // Once the session stops, the channel is on no URL: SharecastStreamOnBackup must not fire.
        viewer.close()
        try await waitUntil(timeout: .seconds(10)) { setup.stream("a") == nil }
        let after = String(decoding: try await APIClient(port: setup.app.port).get("/metrics").body, as: UTF8.self)
        #expect(after.contains(#"sharecast_stream_upstream_backup{channel="a"} 0"#))
        #expect(after.contains(#"sharecast_stream_rate_bytes_per_second{channel="a"} 0"#))
    }

    @Test func anUpstreamThatNeverComesBackEndsTheSessionWithError() async throws {
        let setup = try Setup(channels: { _ in
            [ChannelDefinition(id: "a", name: "A", urls: ["http://127.0.0.1:1/dead.ts"])]
        }, configure: { $0.sharedStreaming.upstream.maxAttempts = 3 })
        let viewer = try setup.viewer("a")
        try await waitUntil(timeout: .seconds(10)) { viewer.ended }
        // Held until the session failed, then told why: not 200 and silence.
        #expect(viewer.status == 502)
        let answer = String(decoding: viewer.body, as: UTF8.self)
        #expect(answer.contains(#""code":"upstream_failed""#) && answer.contains("3 attempts failed"), "\(answer)")
        let database = try setup.finish()
        let row = try database.pool.read { db in try Row.fetchOne(db, sql: "SELECT status, error_count, last_error FROM shared_streams") }
        #expect(row?["status"] == "error")
        #expect((row?["error_count"] as Int?) == 3)
        #expect((row?["last_error"] as String?)?.contains("3 attempts failed") == true)
        let reason = try await database.pool.read { db in try String.fetchOne(db, sql: "SELECT disconnect_reason FROM shared_stream_clients") }
        #expect(reason == "stream_stopped")
    }

    @Test func perChannelUserAgentAndHeadersGoUpstream() async throws {
        let setup = try Setup(channels: { port in
            [ChannelDefinition(id: "a", name: "A", urls: ["http://127.0.0.1:\(port)/a.ts"], userAgent: "Provider-Approved/2.0",
                               headers: ["Referer": "http://provider.example/", "X-Token": "abc"])]
        })
        let viewer = try setup.viewer("a")
        try await waitUntil { viewer.bodyCount > 1000 }
        let headers = setup.origin.lastRequestHeaders
        #expect(headers.contains("User-Agent: Provider-Approved/2.0"))
        #expect(headers.contains("Referer: http://provider.example/"))
        #expect(headers.contains("X-Token: abc"))
    }

    /// The direct delivery (the default) answers with a close-delimited body: plain TS, every
    /// packet whole and in place from the first byte, as players and ffprobe read it.
    @Test func viewersGetPlainPacketAlignedTSUntilTheClose() async throws {
        let setup = try Setup()
        let viewer = try setup.viewer("a")
        try await waitUntil { viewer.bodyCount > 200_000 }
        viewer.close()
        #expect(viewer.status == 200)
        #expect(viewer.header("Connection")?.lowercased() == "close" && viewer.header("Transfer-Encoding") == nil)
        #expect(viewer.header("Content-Type") == "video/mp2t")
        let body = viewer.body
        let packets = body.count / 188
        let aligned = (0..<packets).allSatisfy { body[$0 * 188] == 0x47 }
        #expect(packets > 1000 && aligned, "\(packets) packets, every one starting with the sync byte")
    }

    @Test func zappingBackWithinTheGracePeriodReusesTheUpstream() async throws {
        // A grace period far longer than a loaded machine may leave this test unscheduled, so the
        // session is still there when the test looks.
        let setup = try Setup(configure: { $0.sharedStreaming.gracePeriod = 60 })
        let first = try setup.viewer("a")
        try await waitUntil { first.bodyCount > 10_000 }
        first.close()
        try await waitUntil(timeout: .seconds(30)) { setup.stream("a")?.clientCount == 0 }
        let second = try setup.viewer("a")
        try await waitUntil { second.bodyCount > 10_000 }
        #expect(setup.origin.counts.connectionsServed == 1)
    }

    @Test func withALimitOfOneZappingToAnotherChannelPlaysIt() async throws {
        let setup = try Setup(configure: { $0.sharedStreaming.maxConcurrentStreams = 1 })
        let first = try setup.viewer("a")
        try await waitUntil { first.bodyCount > 10_000 }
        first.close()
        let second = try setup.viewer("b")
        try await waitUntil { second.status != nil }
        #expect(second.status == 200)
        try await waitUntil { second.bodyCount > 10_000 }
        #expect(setup.origin.counts.connectionsServed == 2)
        try await waitUntil { setup.origin.counts.connectionsOpen == 1 }
    }

    @Test func aNewChannelAtTheLimitGets503WithRetryAfter() async throws {
        let setup = try Setup(configure: { $0.sharedStreaming.maxConcurrentStreams = 1 })
        let first = try setup.viewer("a")
        try await waitUntil { first.bodyCount > 10_000 }
        let refused = try setup.viewer("b")
        try await waitUntil { refused.ended }
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "10")
        #expect(String(decoding: refused.body, as: UTF8.self).contains("\"code\":\"stream_limit\""))
        // Viewers of the running channel still join.
        let joining = try setup.viewer("a")
        try await waitUntil { joining.bodyCount > 1000 }
        #expect(setup.origin.counts.connectionsServed == 1)
    }

    @Test func noGhostSessionsAfterTheLastViewerLeaves() async throws {
        let setup = try Setup()
        let viewer = try setup.viewer("a")
        try await waitUntil { viewer.bodyCount > 10_000 }
        #expect(setup.origin.counts.connectionsOpen == 1)
        viewer.close()
        // Grace period (1 s) plus a second.
        try await waitUntil(timeout: .seconds(2)) { setup.origin.counts.connectionsOpen == 0 }
        let database = try setup.finish()
        let statuses = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT status FROM shared_streams") }
        #expect(statuses == ["stopped"])
    }

    @Test func historyRowsMatchWhatViewersSaw() async throws {
        let setup = try Setup()
        let started = Date()
        let leaving = try setup.viewer("a")
        let staying = try setup.viewer("a")
        try await waitUntil { leaving.bodyCount > 30_000 && staying.bodyCount > 30_000 }
        leaving.close()
        let leftAt = Date()
        let leavingBytes = leaving.bodyCount
        try await waitUntil { setup.stream("a")?.clientCount == 1 }
        try await Task.sleep(for: .milliseconds(1500))
        let stayingBytes = staying.bodyCount
        let database = try setup.finish()
        staying.close()
        let stoppedAt = Date()

        let clients = try await database.pool.read { db in try SharedStreamClientRecord.order(Column("disconnected_at")).fetchAll(db) }
        #expect(clients.count == 2)
        guard clients.count == 2 else { return }
        let (first, second) = (clients[0], clients[1])
        #expect(first.disconnectReason == .closed)
        #expect(second.disconnectReason == .shutdown)
        #expect(first.userAgent == "viewer-test" && first.ip == "127.0.0.1")
        for client in clients {
            #expect(client.connectedAt >= started.addingTimeInterval(-0.01) && client.connectedAt <= leftAt)
        }
        #expect(abs((first.disconnectedAt ?? .distantPast).timeIntervalSince(leftAt)) < 1)
        #expect((second.disconnectedAt ?? .distantPast) <= stoppedAt)
        // Bytes handed to the connection can run ahead of what the client read by at most a chunk.
        #expect(abs(first.bytesSent - Int64(leavingBytes)) <= 64 * 1024, "recorded \(first.bytesSent), received \(leavingBytes)")
        #expect(second.bytesSent >= Int64(stayingBytes) && second.bytesSent - Int64(stayingBytes) <= 64 * 1024,
                "recorded \(second.bytesSent), received \(stayingBytes)")
        let stream = try await database.pool.read { db in try SharedStreamRecord.fetchOne(db) }
        #expect(stream?.status == .stopped)
        #expect(stream?.peakClientCount == 2)
        #expect(stream.map { $0.bytesOut == first.bytesSent + second.bytesSent } == true)
    }
}

/// Ring files live exactly as long as their stream.
@Suite struct RingFileTests {
    static func ringFiles(_ setup: SharedStreamingTests.Setup) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: setup.config.sharedStreaming.bufferPath)) ?? [])
            .filter { $0.hasPrefix("sharecast-ring-") }
    }

    @Test func theBufferDirectoryExistsBeforeTheFirstStream() throws {
        let setup = try SharedStreamingTests.Setup()
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: setup.config.sharedStreaming.bufferPath, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    @Test func aStoppedStreamsRingFileIsRemovedAtOnce() async throws {
        let setup = try SharedStreamingTests.Setup()
        let viewer = try setup.viewer("a")
        try await waitUntil { viewer.bodyCount > 10_000 }
        #expect(Self.ringFiles(setup).count == 1)
        viewer.close()
        // The grace period is 1 s; the file goes with the session, not with a later job.
        try await waitUntil(timeout: .seconds(5)) { setup.stream("a") == nil }
        #expect(Self.ringFiles(setup) == [])
    }

    @Test func shutdownRemovesEveryRingFile() async throws {
        let setup = try SharedStreamingTests.Setup()
        let viewers = try ["a", "b"].map { try setup.viewer($0) }
        try await waitUntil { viewers.allSatisfy { $0.bodyCount > 10_000 } }
        #expect(Self.ringFiles(setup).count == 2)
        setup.app.shutdown()
        #expect(Self.ringFiles(setup) == [])
    }
}

/// What a long session keeps: nothing of the viewers that left.
@Suite struct ViewerMemoryTests {
    @Test func viewersThatLeaveAreFreed() async throws {
        let setup = try SharedStreamingTests.Setup()
        let keeper = try setup.viewer("a")
        try await waitUntil { keeper.bodyCount > 10_000 }
        for _ in 0..<5 {
            let batch = try (0..<20).map { _ in try setup.viewer("a") }
            try await waitUntil { batch.allSatisfy { $0.bodyCount > 1000 } }
            for viewer in batch { viewer.close() }
        }
        try await waitUntil { setup.stream("a")?.clientCount == 1 }
        // Each viewer object went with its connection (they held each other: ~400 bytes a viewer).
        try await waitUntil { setup.app.sessions.viewerObjects(channel: "a") == 1 }
    }
}

