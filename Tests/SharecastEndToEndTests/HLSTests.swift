import Foundation
import Logging
import SharecastApp
import SharecastCore
import SharecastTS
import SharecastUpstream
import Synchronization
import Testing

/// A live HLS upstream proxied as one continuous TS stream.
@Suite struct HLSTests {
    /// A server with one channel, `hls`, on `url`.
    static func application(url: String, directory: TemporaryDirectory) throws -> Application {
        var config = SharecastConfig.forTest(in: directory)
        config.sharedStreaming.upstream.backoffInitialMs = 100
        config.channels = [ChannelDefinition(id: "hls", name: "HLS", urls: [url])]
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try Application(config: config, logger: logger)
    }

    @Test func liveHLSBecomesContinuousTSWithEverySegmentOnceInOrder() async throws {
        let ffprobe = try Tools.require("ffprobe"), ffmpeg = try Tools.require("ffmpeg")
        // The fourth playlist request fails: the source retries without losing or repeating segments.
        let origin = try HLSOrigin(advance: .milliseconds(700), failingPlaylistRequests: [4])
        defer { origin.shutdown() }
        let directory = try TemporaryDirectory()
        let app = try Self.application(url: "http://127.0.0.1:\(origin.port)/master.m3u8", directory: directory)
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)

        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        try await waitUntil(timeout: .seconds(20)) { origin.fetches.count >= 8 }
        // Stop the viewer first: a segment fetched after a snapshot of the fetches could
        // otherwise reach the viewer and not be in the snapshot.
        viewer.close()
        let body = viewer.body
        let fetched = origin.fetches

        // Each segment once, with no gaps, from the live edge on.
        #expect(fetched.values.allSatisfy { $0 == 1 }, "fetch counts: \(fetched)")
        let indices = fetched.keys.sorted()
        #expect(indices == Array(indices[0]...(indices.last ?? 0)))
        #expect(indices[0] >= 1, "a fresh session starts near the live edge, not at the window's start")
        // What the viewer got is those segments back to back (the last one perhaps in part).
        let expected = indices.flatMap { origin.segments[$0] }
        #expect(body.count > origin.segments[indices[0]].count)
        let isPrefix = body.count <= expected.count && expected.prefix(body.count).elementsEqual(body)
        #expect(isPrefix, "the viewer's \(body.count) bytes are not the fetched segments in order")
        #expect(origin.playlistRequests >= 5)
        #expect((app.sessions.snapshots().first?.errorCount ?? 0) >= 1)

        // ffprobe and ffmpeg accept the result as one stream.
        let file = directory.file("out.ts")
        // Only whole segments: the viewer may have closed in the middle of a frame.
        var whole = 0
        for index in indices where whole + origin.segments[index].count <= body.count { whole += origin.segments[index].count }
        _ = FileManager.default.createFile(atPath: file, contents: Data(body.prefix(whole)))
        let probe = try await ChildProcess.run(ffprobe, ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", file])
        #expect(probe.status == 0 && probe.stdout.contains("h264") && probe.stderr.isEmpty, "\(probe.stderr)")
        let decode = try await ChildProcess.run(ffmpeg, ["-hide_banner", "-nostats", "-v", "warning", "-i", file, "-f", "null", "-"])
        #expect(decode.status == 0)
        #expect(!decode.stderr.contains("corrupt") && !decode.stderr.contains("Non-monoton"), "\(decode.stderr)")
    }

    @Test func aDiscontinuityTagFlagsTheTimeBaseChange() async throws {
        let origin = try HLSOrigin(advance: .milliseconds(500), discontinuityBefore: 4)
        defer { origin.shutdown() }
        let directory = try TemporaryDirectory()
        let app = try Self.application(url: "http://127.0.0.1:\(origin.port)/live.m3u8", directory: directory)
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)
        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        try await waitUntil(timeout: .seconds(20)) { (origin.fetches[5] ?? 0) == 1 }
        try await waitUntil { viewer.bodyCount >= origin.segments[1...4].reduce(0) { $0 + $1.count } }
        viewer.close()
        let body = viewer.body
        var flagged: [Int] = []
        body.withUnsafeBytes { all in
            for index in 0..<(all.count / 188) where TSPacket.hasDiscontinuityIndicator(UnsafeRawBufferPointer(rebasing: all[(index * 188)..<(index * 188 + 188)])) {
                flagged.append(index * 188)
            }
        }
        // Exactly one flag, in segment 4 (the one after the tag).
        let start = origin.fetches.keys.min() ?? 0
        let segment4 = origin.segments[start..<4].reduce(0) { $0 + $1.count }
        #expect(flagged.count == 1)
        #expect(flagged.allSatisfy { $0 >= segment4 && $0 < segment4 + origin.segments[4].count })
    }
}

/// What a long HLS session keeps: no transfer outlives its segment.
@Suite struct HLSSourceMemoryTests {
    final class Sink: SourceSink, @unchecked Sendable {
        let bytes = Atomic<Int>(0)
        func sourceReceived(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes.add(bytes.count, ordering: .relaxed) }
        func sourceEvent(_ event: SourceEvent) {}
    }

    @Test func finishedSegmentsLeaveNoTransferBehind() async throws {
        let origin = try HLSOrigin(advance: .milliseconds(150))
        defer { origin.shutdown() }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let loop = try #require(UpstreamLoop(logger: logger))
        defer { loop.shutdown() }
        let sink = Sink()
        let source = HLSSource(urls: UpstreamURLs(["http://127.0.0.1:\(origin.port)/live.m3u8"]), userAgent: nil, headers: [:],
                               policy: ReconnectPolicy(), loop: loop, sink: sink)
        source.start()
        defer { source.stop() }
        try await waitUntil(timeout: .seconds(20)) { origin.fetches.count >= 12 }
        #expect(sink.bytes.load(ordering: .relaxed) > 0)
        // A playlist reload and one segment may be under way; the dozen finished ones are gone,
        // from the source's table and from memory (a transfer and its callback held each other).
        #expect(source.runningTransfers <= 2, "\(source.runningTransfers) transfers kept")
        try await waitUntil { loop.transfersInMemory <= 2 }
    }
}

/// An HLS channel's bandwidth is its rate, not its download bursts.
@Suite struct HLSBandwidthTests {
    @Test func theBandwidthFigureStaysNearTheRealRate() async throws {
        let origin = try HLSOrigin(advance: .seconds(1))
        defer { origin.shutdown() }
        let directory = try TemporaryDirectory()
        let app = try HLSTests.application(url: "http://127.0.0.1:\(origin.port)/live.m3u8", directory: directory)
        defer { app.shutdown() }
        let key = try #require(app.catalog.current.channels.first?.streamKey)
        let viewer = try Viewer(port: app.port, path: "/stream/\(key)")
        defer { viewer.close() }
        // Past the opening burst (a fresh session fetches two segments at once).
        try await waitUntil(timeout: .seconds(15)) { origin.fetches.count >= 6 }
        var readings: [Int64] = []
        let start = try #require(app.sessions.snapshots().first)
        let started = ContinuousClock.now
        for _ in 0..<24 {
            try await Task.sleep(for: .milliseconds(250))
            readings.append(app.sessions.snapshots().first?.bandwidthBitsPerSecond ?? 0)
        }
        let end = try #require(app.sessions.snapshots().first)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let actual = Double(end.bytesIn - start.bytesIn) * 8 / seconds
        #expect(actual > 0)
        // A window over several segments: no reading at 0, none at several times the rate.
        let outliers = readings.filter { Double($0) < actual * 0.5 || Double($0) > actual * 2 }
        #expect(outliers.isEmpty, "rate \(Int(actual)) bit/s, readings \(readings)")
    }
}
