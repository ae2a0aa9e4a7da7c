import Foundation
import GRDB
import Logging
import SharecastApp
import SharecastCore
import SharecastStore
import Testing

/// A provider's bad data costs only its own channel: absurd numbers in playlists, playlists that
/// loop, and HTML pages answered with 200 end the session in an error after the allowed attempts,
/// with back-off in between, while the server keeps serving.
@Suite struct HostileUpstreamTests {
    static let hls = "application/vnd.apple.mpegurl"

    /// Runs one channel on `url` with three attempts until its session has ended; returns the
    /// stored session row (status, last error) and checks the server still answers.
    static func endedSession(url: String, origin: ScriptedOrigin) async throws -> (status: String?, error: String?) {
        let directory = try TemporaryDirectory()
        var config = SharecastConfig()
        config.server.listen = "127.0.0.1"
        config.server.port = 0
        config.database.path = directory.file("db.sqlite")
        config.sharedStreaming.bufferPath = directory.file("buffers")
        config.sharedStreaming.upstream.maxAttempts = 3
        config.sharedStreaming.upstream.backoffInitialMs = 100
        config.sharedStreaming.upstream.backoffMaxMs = 200
        config.channels = [ChannelDefinition(id: "bad", name: "Bad", urls: [url])]
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = try Application(config: config, logger: logger)
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)
        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        try await waitUntil(timeout: .seconds(15)) { viewer.ended }
        #expect(viewer.bodyCount == 0, "no byte of a broken upstream reaches a viewer")
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
        try await waitUntil(timeout: .seconds(5)) { setup.stream("a")?.clientCount ?? 0 == 0 }
        // With no viewer left, the grace period (1 s here) ends the session and its reconnects.
        try await waitUntil(timeout: .seconds(5)) { setup.stream("a") == nil }
    }
}
