import Foundation
import GRDB
import Logging
import SharecastApp
import SharecastCore
import SharecastHTTP
import SharecastStore
import Testing

/// A provider's bad data costs only its own channel: absurd numbers in playlists, playlists that
/// loop, and HTML pages answered with 200 end the session in an error after the allowed attempts,
/// with back-off in between, while the server keeps serving.
@Suite struct HostileUpstreamTests {
    static let hls = "application/vnd.apple.mpegurl"

    /// Runs one channel on `url` with three attempts until its session has ended; returns the
    /// stored session row (status, last error) and checks the server still answers.
    /// A server with one channel on `url`, three attempts and a short back-off.
    static func app(url: String, directory: TemporaryDirectory, _ configure: (inout SharecastConfig) -> Void = { _ in }) throws -> Application {
        var config = SharecastConfig.forTest(in: directory)
        config.sharedStreaming.upstream.maxAttempts = 3
        config.sharedStreaming.upstream.backoffInitialMs = 100
        config.sharedStreaming.upstream.backoffMaxMs = 200
        config.channels = [ChannelDefinition(id: "c", name: "C", urls: [url])]
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try Application(config: config, logger: logger)
    }

    static func endedSession(url: String, origin: ScriptedOrigin) async throws -> (status: String?, error: String?) {
        let directory = try TemporaryDirectory()
        let app = try Self.app(url: url, directory: directory)
        let config = app.config
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)
        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        try await waitUntil(timeout: .seconds(15)) { viewer.ended }
        // No byte of a broken upstream reaches the viewer: it is told why instead.
        #expect(viewer.status == 502)
        #expect(viewer.header("Content-Type")?.hasPrefix("application/json") == true)
        // The process is alive and serving.
        let health = try Viewer(port: app.port, path: "/healthz")
        try await waitUntil { health.ended }
        #expect(String(decoding: health.body, as: UTF8.self) == "ok\n")
        app.shutdown()
        let database = try SharecastDatabase(path: config.database.path)
        let row = try database.pool.read { db in try Row.fetchOne(db, sql: "SELECT status, last_error FROM shared_streams") }
        return (row?["status"], row?["last_error"])
    }

    @Test(arguments: ["1e16", "1e400", "nan", "inf", "-3", "x"])
    func anAbsurdTargetDurationIsAnErrorForItsChannelOnly(_ value: String) async throws {
        let origin = try ScriptedOrigin(["/live.m3u8": (200, Self.hls, "#EXTM3U\n#EXT-X-TARGETDURATION:\(value)\n#EXTINF:1,\na.ts\n")])
        defer { origin.shutdown() }
        let row = try await Self.endedSession(url: origin.url("/live.m3u8"), origin: origin)
        #expect(row.status == "error")
        #expect(row.error?.contains("#EXT-X-TARGETDURATION") == true, "\(row.error ?? "nil")")
        #expect(row.error?.contains(":2:") == true, "the error names the line: \(row.error ?? "nil")")
        #expect(origin.requests("/live.m3u8") == 3)
    }

    @Test func aMediaSequenceNearIntMaxIsAnErrorForItsChannelOnly() async throws {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:\(Int.max - 1)\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n"
        let origin = try ScriptedOrigin(["/live.m3u8": (200, Self.hls, text)])
        defer { origin.shutdown() }
        let row = try await Self.endedSession(url: origin.url("/live.m3u8"), origin: origin)
        #expect(row.status == "error")
        #expect(row.error?.contains("#EXT-X-MEDIA-SEQUENCE") == true, "\(row.error ?? "nil")")
    }

    @Test func aMasterPlaylistThatNamesItselfEndsInAnErrorWithBackOff() async throws {
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nmaster.m3u8\n"
        let origin = try ScriptedOrigin(["/master.m3u8": (200, Self.hls, text)])
        defer { origin.shutdown() }
        let row = try await Self.endedSession(url: origin.url("/master.m3u8"), origin: origin)
        #expect(row.status == "error")
        #expect(row.error?.contains("master playlist") == true, "\(row.error ?? "nil")")
        // Each attempt reads the master and then the (same) variant: two requests per attempt.
        #expect(origin.requests("/master.m3u8") <= 6, "\(origin.requests("/master.m3u8")) requests")
    }

    @Test func aTSUpstreamAnsweringWithAnHTMLPageIsNotData() async throws {
        let page = "<!DOCTYPE html><html><body>" + String(repeating: "Your subscription has expired. ", count: 4000) + "</body></html>"
        let origin = try ScriptedOrigin(["/live.ts": (200, "text/html", page)])
        defer { origin.shutdown() }
        let row = try await Self.endedSession(url: origin.url("/live.ts"), origin: origin)
        #expect(row.status == "error")
        #expect(row.error?.contains("HTML page") == true, "\(row.error ?? "nil")")
        #expect(origin.requests("/live.ts") == 3)
    }

    @Test func aShortHTMLPageIsNotDataEither() async throws {
        let origin = try ScriptedOrigin(["/live.ts": (200, "text/html", "<html>no</html>")])
        defer { origin.shutdown() }
        let row = try await Self.endedSession(url: origin.url("/live.ts"), origin: origin)
        #expect(row.status == "error")
        #expect(row.error?.contains("HTML page") == true, "\(row.error ?? "nil")")
        #expect(origin.requests("/live.ts") == 3)
    }

    @Test func hlsSegmentsThatAreHTMLPagesEndTheSession() async throws {
        // A live playlist that moves on by a segment at every reload; every segment is a page.
        let playlist: @Sendable (Int) -> ScriptedOrigin.Response = { request in
            let text = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:\(request)\n"
                + (request..<(request + 3)).map { "#EXTINF:1,\nseg.ts?n=\($0)\n" }.joined()
            return (200, Self.hls, text)
        }
        let origin = try ScriptedOrigin(dynamic: ["/live.m3u8": playlist, "/seg.ts": { _ in (200, "text/html", "<html>blocked</html>") }])
        defer { origin.shutdown() }
        let row = try await Self.endedSession(url: origin.url("/live.m3u8"), origin: origin)
        #expect(row.status == "error")
        #expect(row.error?.contains("HTML page") == true, "\(row.error ?? "nil")")
        // Three skipped segments, each tried twice.
        #expect(origin.requests("/seg.ts") == 6)
    }
}

/// A viewer that hangs up is noticed even when there is nothing to send it.
@Suite struct HangUpTests {
    @Test func aViewerThatHangsUpWhileTheUpstreamFailsIsGoneWithinSeconds() async throws {
        let setup = try SharedStreamingTests.Setup(channels: { _ in
            [ChannelDefinition(id: "a", name: "A", urls: ["http://127.0.0.1:1/dead.ts"])]
        }, configure: {
            // The upstream keeps failing for minutes; client_timeout is far away.
            $0.sharedStreaming.upstream.maxAttempts = 1000
            $0.sharedStreaming.clientTimeout = 300
        })
        let viewer = try setup.viewer("a")
        try await waitUntil { setup.stream("a")?.clientCount == 1 }
        viewer.close()
        // Housekeeping peeks at quiet viewers' sockets a few times a second; generous bounds for
        // a loaded machine, far below client_timeout (300 s) and first_byte_timeout (15 s).
        do {
            try await waitUntil(timeout: .seconds(10)) { setup.stream("a")?.clientCount ?? 0 == 0 }
        } catch {
            let stream = setup.stream("a")
            Issue.record("viewer still attached: \(String(describing: stream?.status)), viewers \(String(describing: stream?.clients.map { ($0.bytesSent, $0.lastActivityAt) }))")
            return
        }
        // With no viewer left, the grace period (1 s here) ends the session and its reconnects.
        do {
            try await waitUntil(timeout: .seconds(10)) { setup.stream("a") == nil }
        } catch {
            let stream = setup.stream("a")
            Issue.record("session still running: \(String(describing: stream?.status)) clients \(String(describing: stream?.clientCount)) errors \(String(describing: stream?.errorCount))")
        }
    }
}

/// A viewer of a stream that has not started is answered when the upstream delivers or fails,
/// never `200` and then silence.
@Suite struct HeldAnswerTests {
    /// An upstream that answers 200 and then sends nothing, for as long as the connection lasts.
    final class SilentBody: StreamingBody, @unchecked Sendable {
        func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead { .wait }
        func close(bytesSent: Int64, completed: Bool) {}
    }

    static func app(url: String, directory: TemporaryDirectory, _ configure: (inout SharecastConfig) -> Void = { _ in }) throws -> Application {
        try HostileUpstreamTests.app(url: url, directory: directory, configure)
    }

    @Test func anUpstreamAnswering403GivesTheViewer502WithTheReason() async throws {
        let origin = try ScriptedOrigin(["/live.ts": (403, "text/plain", "forbidden")])
        defer { origin.shutdown() }
        let directory = try TemporaryDirectory()
        let app = try Self.app(url: origin.url("/live.ts"), directory: directory)
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)
        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        try await waitUntil(timeout: .seconds(10)) { viewer.ended }
        #expect(viewer.status == 502)
        let body = String(decoding: viewer.body, as: UTF8.self)
        #expect(body.contains(#""code":"upstream_failed""#) && body.contains("HTTP status 403"), "\(body)")
        // The viewer is recorded as gone and the session is over.
        try await waitUntil { app.sessions.snapshots().isEmpty }
    }

    @Test func anUpstreamThatSendsNothingGivesTheViewer504AfterTheBound() async throws {
        var router = Router()
        router.get("/live.ts") { _ in HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .stream(SilentBody())) }
        var logger = Logger(label: "silent")
        logger.logLevel = .critical
        let origin = try HTTPServer(configuration: .init(listen: "127.0.0.1", port: 0), router: router, logger: logger)
        defer { origin.shutdown(grace: .zero) }
        let directory = try TemporaryDirectory()
        let app = try Self.app(url: "http://127.0.0.1:\(origin.port)/live.ts", directory: directory) {
            $0.sharedStreaming.upstream.firstByteTimeout = 1
        }
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)
        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        try await waitUntil(timeout: .seconds(5)) { viewer.ended }
        #expect(viewer.status == 504)
        #expect(String(decoding: viewer.body, as: UTF8.self).contains(#""code":"upstream_timeout""#))
        #expect(app.sessions.snapshots().first?.clientCount ?? 0 == 0)
    }

    @Test func aSecondViewerOfAPlayingStreamIsAnsweredAtOnce() async throws {
        let setup = try SharedStreamingTests.Setup()
        let first = try setup.viewer("a")
        try await waitUntil { first.bodyCount > 10_000 }
        let second = try setup.viewer("a")
        try await waitUntil { second.bodyCount > 10_000 }
        #expect(first.status == 200 && second.status == 200)
    }
}

/// An upstream that freezes (SIGSTOP, a dead route) is dropped after `stall_timeout`.
@Suite struct StallTests {
    /// Sends `limit` bytes of the test pattern, then nothing while the connection stays open.
    final class FreezingBody: StreamingBody, @unchecked Sendable {
        let bytes: [UInt8]
        private var offset = 0
        init(limit: Int) { bytes = Array(SharedStreamingTests.reference.prefix(limit)) }
        func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead {
            guard offset < bytes.count else { return .wait }
            let count = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
            offset += count
            return .bytes(count)
        }
        func close(bytesSent: Int64, completed: Bool) {}
    }

    @Test func aFrozenUpstreamIsDroppedByTheSessionsOwnStallCheck() async throws {
        var router = Router()
        router.get("/live.ts") { _ in HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .stream(FreezingBody(limit: 500_000))) }
        var logger = Logger(label: "freezing")
        logger.logLevel = .critical
        let origin = try HTTPServer(configuration: .init(listen: "127.0.0.1", port: 0), router: router, logger: logger)
        defer { origin.shutdown(grace: .zero) }
        let directory = try TemporaryDirectory()
        let app = try HeldAnswerTests.app(url: "http://127.0.0.1:\(origin.port)/live.ts", directory: directory) {
            $0.sharedStreaming.upstream.stallTimeout = 2
            $0.sharedStreaming.upstream.maxAttempts = 100
        }
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)
        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        defer { viewer.close() }
        try await waitUntil(timeout: .seconds(10)) { (app.sessions.snapshots().first?.errorCount ?? 0) >= 1 }
        let stream = try #require(app.sessions.snapshots().first)
        // The session's check (stall_timeout), not libcurl's slower low-speed average, dropped it.
        #expect(stream.lastError == "no data for 2 s", "\(stream.lastError ?? "nil")")
        #expect(viewer.status == 200)
        try await waitUntil(timeout: .seconds(5)) { (app.sessions.snapshots().first?.restartCount ?? 0) >= 1 }
    }
}
