import Testing
@testable import SharecastUpstream

@Suite struct HLSPlaylistTests {
    @Test func masterPlaylistsListVariantsWithResolvedURLs() throws {
        let text = """
        #EXTM3U
        #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
        low/index.m3u8
        #EXT-X-STREAM-INF:RESOLUTION=1280x720,BANDWIDTH=2500000
        https://cdn.example/high/index.m3u8
        """
        let playlist = try HLSPlaylist.parse(text, url: "http://provider.example/live/master.m3u8?token=x")
        #expect(playlist == .master([
            .init(url: "http://provider.example/live/low/index.m3u8", bandwidth: 800_000),
            .init(url: "https://cdn.example/high/index.m3u8", bandwidth: 2_500_000),
        ]))
    }

    @Test func mediaPlaylistsNumberSegmentsAndMarkDiscontinuities() throws {
        let text = "#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-MEDIA-SEQUENCE:120\r\n#EXTINF:4.0,\r\n/a/120.ts\r\n"
            + "#EXT-X-DISCONTINUITY\r\n#EXTINF:3.5,title\r\n121.ts\r\n"
        let playlist = try HLSPlaylist.parse(text, url: "http://p.example/x/index.m3u8")
        #expect(playlist == .media(.init(targetDuration: 4, mediaSequence: 120, segments: [
            .init(sequence: 120, url: "http://p.example/a/120.ts", duration: 4, discontinuity: false),
            .init(sequence: 121, url: "http://p.example/x/121.ts", duration: 3.5, discontinuity: true),
        ], ended: false)))
    }

    @Test func thingsThatAreNotHLSAreRefused() {
        #expect(throws: HLSPlaylist.ParseError.notAPlaylist("u")) { try HLSPlaylist.parse("<html>", url: "u") }
        #expect(throws: HLSPlaylist.ParseError.noSegmentsOrVariants("u")) {
            try HLSPlaylist.parse("#EXTM3U\n#EXTINF:-1,Channel\nhttp://x/1.ts\n", url: "u")
        }
    }

    @Test func theHighestVariantWinsUnlessCapped() {
        let variants: [HLSPlaylist.Variant] = [.init(url: "mid", bandwidth: 2_000_000), .init(url: "low", bandwidth: 800_000), .init(url: "high", bandwidth: 6_000_000)]
        #expect(HLSSource.choose(variants, maxBandwidth: nil)?.url == "high")
        #expect(HLSSource.choose(variants, maxBandwidth: 3_000_000)?.url == "mid")
        #expect(HLSSource.choose(variants, maxBandwidth: 100)?.url == "low")
    }

    @Test func playlistsAreRecognisedByTheirExtension() {
        #expect(HLSSource.handles("http://x/live/index.m3u8"))
        #expect(HLSSource.handles("https://x/a.M3U8?token=1"))
        #expect(!HLSSource.handles("http://x/live.ts?m3u8"))
    }

    @Test func backOffGrowsWithJitterAndACap() {
        var policy = ReconnectPolicy()
        policy.initialBackoff = .milliseconds(100)
        policy.maxBackoff = .seconds(1)
        for _ in 0..<50 {
            let first = policy.delay(forAttempt: 1), third = policy.delay(forAttempt: 3), tenth = policy.delay(forAttempt: 10)
            #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
            #expect(third >= .milliseconds(200) && third <= .milliseconds(400))
            #expect(tenth >= .milliseconds(500) && tenth <= .seconds(1))
        }
    }
}

/// Numbers in a provider's playlist are checked before anything computes with them.
@Suite struct HLSPlaylistNumberTests {
    @Test(arguments: ["1e16", "1e400", "nan", "inf", "-inf", "0", "-1", "86401", "", "4s"])
    func anUnusableTargetDurationIsAnErrorNamingItsLine(_ value: String) {
        #expect(throws: HLSPlaylist.ParseError.badNumber(url: "u", line: 3, tag: "#EXT-X-TARGETDURATION", value: value)) {
            try HLSPlaylist.parse("#EXTM3U\n\n#EXT-X-TARGETDURATION:\(value)\n#EXTINF:1,\na.ts\n", url: "u")
        }
    }

    @Test(arguments: ["\(Int.max)", "\(Int.max - 1)", "99999999999999999999", "-5", "1.5"])
    func anUnusableMediaSequenceIsAnError(_ value: String) {
        #expect(throws: HLSPlaylist.ParseError.self) {
            try HLSPlaylist.parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:\(value)\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n", url: "u")
        }
    }

    @Test func aSequenceAtTheLimitWithSegmentsPastItIsAnError() throws {
        let top = HLSPlaylist.maxSequence
        #expect(throws: HLSPlaylist.ParseError.self) {
            try HLSPlaylist.parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:\(top)\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n", url: "u")
        }
        let playlist = try HLSPlaylist.parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:\(top)\n#EXTINF:1,\na.ts\n", url: "u")
        guard case let .media(media) = playlist else { Issue.record("not a media playlist"); return }
        #expect(media.segments.map(\.sequence) == [top])
    }

    @Test func unusableSegmentDurationsAndBandwidthsFallBack() throws {
        let media = try HLSPlaylist.parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:nan,\na.ts\n#EXTINF:-1,\nb.ts\n", url: "u")
        guard case let .media(parsed) = media else { Issue.record("not a media playlist"); return }
        #expect(parsed.segments.map(\.duration) == [2, 2])
        let master = try HLSPlaylist.parse("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=-7\na.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1e99\nb.m3u8\n", url: "u")
        #expect(master == .master([.init(url: "a.m3u8", bandwidth: 0), .init(url: "b.m3u8", bandwidth: 0)]))
    }

    @Test func errorsDoNotShowTheQueryOfTheURL() {
        let error = HLSPlaylist.ParseError.notAPlaylist("http://p.example/live.m3u8?username=u&password=secret")
        #expect(!error.description.contains("secret"))
    }
}
