import Foundation
import Logging
import SharecastApp
import SharecastCore
import Testing

/// Sharecast as an HDHomeRun tuner, read by SiliconDust's own library and by the requests Plex and
/// Jellyfin make, against the Xtream stand-in (one login of one connection: one tuner).
@Suite(.serialized) struct HDHomeRunTests {
    final class Setup: @unchecked Sendable {
        let panel: XtreamOrigin
        let app: Application
        let directory: TemporaryDirectory

        init(discoveryPort: Int = 0) throws {
            panel = try XtreamOrigin.quiet(logins: [XtreamOrigin.Login(username: "u1", password: "pw-hdhr-1", maxConnections: 1)],
                                     channels: [XtreamOrigin.Channel(id: 101, name: "News One HD", category: "News", epgID: "news1.example"),
                                                XtreamOrigin.Channel(id: 102, name: "日本テレビ", category: "日本", epgID: "ntv.jp"),
                                                XtreamOrigin.Channel(id: 103, name: "Sport Three", category: "Sport")])
            directory = try TemporaryDirectory()
            var config = SharecastConfig.forTest(in: directory)
            config.sharedStreaming.zapWait = 1
            config.sharedStreaming.upstream.backoffInitialMs = 100
            config.sharedStreaming.upstream.backoffMaxMs = 300
            config.sharedStreaming.upstream.maxAttempts = 100
            config.security.streamRatePerMinute = 0
            config.alerting.enabled = false
            config.channels = []
            config.providers = [ProviderConfig(name: "acme", kind: .xtream, server: panel.baseURL,
                                               accounts: [ProviderAccount(username: "u1", password: Secret("pw-hdhr-1"))])]
            config.hdhomerun.enabled = true
            config.hdhomerun.discovery.listen = "127.0.0.1"
            config.hdhomerun.discovery.port = discoveryPort
            config.hdhomerun.lineups = [HDHomeRunLineupConfig(name: "sport", groups: ["Sport"])]
            var logger = Logger(label: "sharecast")
            logger.logLevel = .warning
            app = try Application(config: config, logger: logger)
        }

        func ready() async throws {
            try await waitUntil { self.app.completedImports >= 1 && self.app.catalog.current.channels.count == 3 }
        }

        func shutdown() {
            app.shutdown()
            panel.shutdown()
        }
    }

    @Test func siliconDustsLibraryFindsTheTunerOnLoopback() async throws {
        let compiler = try Tools.require("cc")
        let setup = try Setup(discoveryPort: 65001)
        defer { setup.shutdown() }
        try await setup.ready()
        #expect(setup.app.discoveryPort == 65001, "UDP 65001 on 127.0.0.1 is taken on this machine")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers/hdhomerun-discover.c").path
        let client = setup.directory.file("hdhomerun-discover")
        let build = try await ChildProcess.run(compiler, ["-o", client, source, "-lhdhomerun"])
        try #require(build.status == 0, "\(build.stderr)")
        let found = try await ChildProcess.run(client, [])
        #expect(found.status == 0)
        let lines = found.stdout.split(separator: "\n").map(String.init)
        let ids = setup.app.hdhomerunDeviceIDs
        let base = "http://127.0.0.1:\(setup.app.port)"
        let main = try #require(lines.first { $0.hasPrefix("id=\(ids[0]) ") }, "\(found.stdout)")
        #expect(main.contains(" valid=1 ") && main.contains(" type=00000001 ") && main.contains(" tuners=1 "), "\(main)")
        #expect(main.contains(" base=\(base) ") && main.contains(" lineup=\(base)/lineup.json "), "\(main)")
        #expect(main.range(of: #" auth=[A-Za-z0-9]{24}$"#, options: .regularExpression) != nil, "\(main)")
        // The lineup is a device of its own (its base URL is longer than the library's 28 bytes).
        #expect(lines.contains { $0.hasPrefix("id=\(ids[1]) valid=1 ") }, "\(found.stdout)")
    }

    @Test func jellyfinsDiscoveryPacketGetsAReplyAndGarbageIsCounted() async throws {
        let setup = try Setup()
        defer { setup.shutdown() }
        try await setup.ready()
        let port = try #require(setup.app.discoveryPort)
        let udp = try LoopbackUDP()
        udp.send([0x00, 0x02, 0x00, 0x0c, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0x02, 0x04, 0xff, 0xff, 0xff, 0xff, 0x73, 0xcc, 0x7d, 0x8f], port: port)
        var replies: [[UInt8]] = []
        while replies.count < 2, let reply = udp.receive() { replies.append(reply) }
        #expect(replies.count == 2)
        for reply in replies {
            // What Jellyfin accepts: longer than 13 bytes, type 0x0003.
            #expect(reply.count > 13 && reply[0] == 0x00 && reply[1] == 0x03)
        }
        let announced = replies.compactMap { reply -> String? in
            guard let at = (4..<(reply.count - 6)).first(where: { reply[$0] == 0x02 && reply[$0 + 1] == 0x04 }) else { return nil }
            return String(format: "%02X%02X%02X%02X", reply[at + 2], reply[at + 3], reply[at + 4], reply[at + 5])
        }
        #expect(Set(announced) == Set(setup.app.hdhomerunDeviceIDs))
        // Garbage and a bad CRC are dropped without a reply and counted; the responder goes on.
        udp.send(Array("GET / HTTP/1.1\r\n\r\n".utf8), port: port)
        udp.send([0x00, 0x02, 0x00, 0x0c, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0x02, 0x04, 0xff, 0xff, 0xff, 0xff, 0x73, 0xcc, 0x7d, 0x8e], port: port)
        udp.send([0x00, 0x02, 0x00, 0x0c, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0x02, 0x04, 0xff, 0xff, 0xff, 0xff, 0x73, 0xcc, 0x7d, 0x8f], port: port)
        let next = udp.receive()
        #expect(next?[1] == 0x03)
        let metrics = String(decoding: try await APIClient(port: setup.app.port).get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"sharecast_hdhomerun_discovery_packets_total{result="malformed"} 2"#), "\(metrics.split(separator: "\n").filter { $0.contains("hdhomerun") })")
        #expect(metrics.contains(#"sharecast_hdhomerun_discovery_packets_total{result="answered"} 2"#))
    }

    @Test func plexsSetupSequenceAndATuneOnTheSharedUpstream() async throws {
        let ffprobe = try Tools.require("ffprobe")
        let setup = try Setup()
        defer { setup.shutdown() }
        try await setup.ready()
        let api = APIClient(port: setup.app.port)
        let base = "http://127.0.0.1:\(setup.app.port)"

        let discover = try await api.get("/discover.json")
        let device = try #require(discover.json as? [String: Any])
        #expect(device["DeviceID"] as? String == setup.app.hdhomerunDeviceIDs[0])
        #expect(device["BaseURL"] as? String == base && device["LineupURL"] as? String == "\(base)/lineup.json")
        #expect(device["FriendlyName"] as? String == "Sharecast" && device["ModelNumber"] as? String == "HDHR5-4K")
        // A JSON integer, not "1": Plex refuses a string.
        #expect(String(decoding: discover.body, as: UTF8.self).contains(#""TunerCount":1"#))
        for key in ["Manufacturer", "FirmwareName", "FirmwareVersion", "DeviceAuth"] { #expect((device[key] as? String)?.isEmpty == false, "\(key)") }

        let status = try await api.get("/lineup_status.json")
        #expect((status.json as? [String: Any])?["ScanPossible"] as? Int == 1)
        #expect(try await api.post("/lineup.post?scan=start&source=Cable").status == 200)
        #expect(try await api.post("/lineup.post?scan=sideways").status == 400)

        let lineup = try #require(try await api.get("/lineup.json").json as? [[String: Any]])
        #expect(lineup.map { $0["GuideNumber"] as? String } == ["1", "2", "3"])
        #expect(lineup.map { $0["GuideName"] as? String } == ["News One HD", "日本テレビ", "Sport Three"])
        #expect(lineup.map { $0["URL"] as? String } == ["\(base)/auto/v1", "\(base)/auto/v2", "\(base)/auto/v3"])
        #expect(lineup.map { $0["HD"] as? Int } == [1, 0, 0])
        let sportOnly = try #require(try await api.get("/hdhr/sport/lineup.json").json as? [[String: Any]])
        #expect(sportOnly.map { $0["GuideNumber"] as? String } == ["3"])
        let xml = String(decoding: try await api.get("/device.xml").body, as: UTF8.self)
        #expect(xml.contains("<UDN>uuid:") && xml.contains("<URLBase>\(base)</URLBase>"))

        // The tune URL (with the query Jellyfin may add) plays h264, on the same upstream
        // connection as the channel's /stream/<key>.
        let tuned = try Viewer(port: setup.app.port, path: "/auto/v1?transcode=heavy&duration=0")
        try await waitUntil { tuned.bodyCount > 20_000 }
        #expect(tuned.status == 200)
        let key = try #require(setup.app.catalog.current.channels.first { $0.channel.number == 1 }?.streamKey)
        let direct = try Viewer(port: setup.app.port, path: "/stream/\(key)")
        try await waitUntil { direct.bodyCount > 20_000 }
        let probe = try await ChildProcess.run(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
                                                         "-of", "default=nw=1:nk=1", "\(base)/auto/v1"], timeout: .seconds(30))
        #expect(probe.stdout.split(separator: "\n").first == "h264", "\(probe.stderr)")
        #expect(setup.app.sessions.snapshots().count == 1)
        #expect(setup.panel.peakConnections == ["u1": 1])

        // Every tuner busy: another channel is 503 with SiliconDust's 805, after zap_wait.
        let busy = try Viewer(port: setup.app.port, path: "/auto/v3", source: "127.0.0.2")
        try await waitUntil { busy.ended }
        #expect(busy.status == 503)
        #expect(busy.header("X-HDHomeRun-Error") == "805 All Tuners In Use")
        // An unknown number, and a channel outside a lineup, are 404.
        #expect(try await api.get("/auto/v99").status == 404)
        #expect(try await api.get("/hdhr/sport/auto/v1").status == 404)
        tuned.close()
        direct.close()
    }
}
