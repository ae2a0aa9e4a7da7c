import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SharecastApp
import SharecastCore
import SharecastGuide
import Testing

/// The guide end to end: a stand-in panel's generated XMLTV (500 channels, 8 days) imported,
/// served as /epg.xml and read by XMLTV's own validator.
@Suite(.serialized) struct GuideTests {
    final class Setup: @unchecked Sendable {
        let panel: XtreamOrigin
        let app: Application
        let directory: TemporaryDirectory

        /// `providerGuide`: the panel's own guide (`providers[].epg`), off unless a test asks.
        init(channels: Int, providerGuide: ProviderGuide.Location = .none,
             guides: (XtreamOrigin, TemporaryDirectory) throws -> [GuideSourceConfig] = { _, _ in [] },
             configure: (inout SharecastConfig, XtreamOrigin, TemporaryDirectory) throws -> Void = { _, _, _ in }) throws {
            panel = try XtreamOrigin.quiet(logins: [XtreamOrigin.Login(username: "u1", password: "pw-guide-1", maxConnections: 1)],
                                     channels: (0..<channels).map { XtreamOrigin.Channel(id: 1000 + $0, name: "Channel \($0 + 1)", category: "All", epgID: "ch\($0 + 1).example") })
            directory = try TemporaryDirectory()
            var config = SharecastConfig.forTest(in: directory)
            config.alerting.enabled = false
            config.security.apiRatePerMinute = 0
            config.channels = []
            var provider = ProviderConfig(name: "acme", kind: .xtream, server: panel.baseURL,
                                          accounts: [ProviderAccount(username: "u1", password: Secret("pw-guide-1"))])
            provider.guide.location = providerGuide
            config.providers = [provider]
            config.epgSources = try guides(panel, directory)
            try configure(&config, panel, directory)
            var logger = Logger(label: "sharecast")
            logger.logLevel = .warning
            app = try Application(config: config, logger: logger)
        }

        func shutdown() {
            app.shutdown()
            panel.shutdown()
        }
    }

    static func get(_ port: Int, _ path: String, headers: [String: String] = [:]) async throws -> (Int, [String: String], Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = 120
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        // Compressed bodies are compared as sent.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] { if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value } }
        return (http?.statusCode ?? 0, fields, data)
    }

    static let aliceSecret = "alice-guide-secret-0123456789"

    /// The served document changes with the UTC day; tests that compare documents start well
    /// clear of midnight (a slow run takes minutes).
    static func clearOfTheDayChange() async throws {
        let left = 86_400 - Int(Date().timeIntervalSince1970) % 86_400
        if left < 900 { try await Task.sleep(for: .seconds(left + 1)) }
    }

    /// The Xtream provider's own guide (its panel's xmltv.php, found by itself).
    @Test func aProvidersGuideIsServedValidForEveryPlaylistChannel() async throws {
        try await Self.clearOfTheDayChange()
        let validator = try Tools.require("tv_validate_file")
        let setup = try Setup(channels: 500, providerGuide: .automatic)
        defer { setup.shutdown() }
        try await waitUntil(timeout: .seconds(240)) { setup.app.completedGuideImports >= 1 }
        let port = setup.app.port
        let sources = try #require(try await APIClient(port: port).get("/api/monitor/guide").json as? [String: Any])["data"] as? [[String: Any]]
        #expect(sources?.map { $0["name"] as? String } == ["acme"])
        #expect(sources?.first?["provider"] as? String == "acme")
        #expect(sources?.first?["channels_mapped"] as? Int == 500 && sources?.first?["last_error"] == nil)
        #expect((setup.panel.wholeAnswers["xmltv.php"] ?? 0) >= 1)
        let (status, headers, body) = try await Self.get(port, "/epg.xml")
        #expect(status == 200)
        let guide = String(decoding: body, as: UTF8.self)

        // XMLTV's validator, with the DTD from the local package (never the internet).
        let supplement = setup.directory.file("supplement")
        try FileManager.default.createDirectory(atPath: supplement, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/usr/share/xmltv/xmltv.dtd", toPath: supplement + "/xmltv.dtd")
        let file = setup.directory.file("epg.xml")
        try body.write(to: URL(fileURLWithPath: file))
        let validation = try await ChildProcess.run(validator, [file], environment: ["XMLTV_SUPPLEMENT": supplement], timeout: .seconds(300))
        #expect(validation.status == 0, "\(validation.stdout.suffix(2000)) \(validation.stderr.suffix(2000))")

        // Every tvg-id of the playlist has its channel and programmes; the playlist names the guide.
        let playlist = String(decoding: try await Self.get(port, "/playlist.m3u").2, as: UTF8.self)
        #expect(playlist.hasPrefix("#EXTM3U url-tvg=\"http://127.0.0.1:\(port)/epg.xml\""))
        let ids = playlist.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: #"tvg-id="[^"]+""#, options: .regularExpression) else { return nil }
            return String(line[range].dropFirst(8).dropLast())
        }
        #expect(ids.count == 500)
        // One pass over the guide's lines (a search of the whole document per id is slow).
        var channelIDs = Set<Substring>(), programmeIDs = Set<Substring>()
        for line in guide.split(separator: "\n") {
            if line.hasPrefix("  <channel id=\""), let end = line.dropFirst(15).firstIndex(of: "\"") {
                channelIDs.insert(line[line.index(line.startIndex, offsetBy: 15)..<end])
            } else if line.hasPrefix("  <programme "), let range = line.range(of: " channel=\"") {
                let rest = line[range.upperBound...]
                if let end = rest.firstIndex(of: "\"") { programmeIDs.insert(rest[..<end]) }
            }
        }
        for id in ids {
            #expect(channelIDs.contains(Substring(id)), "\(id)")
            #expect(programmeIDs.contains(Substring(id)), "\(id)")
        }
        #expect(guide.contains("<display-name>1 Channel 1</display-name><display-name>Channel 1</display-name><display-name>1</display-name>"))

        // The .gz is the same document; a client that has it gets 304.
        let (gzStatus, _, compressed) = try await Self.get(port, "/epg.xml.gz")
        #expect(gzStatus == 200)
        var inflated: [UInt8] = []
        try #require(Inflater()).inflate(Array(compressed)[...]) { inflated += $0 }
        let same = inflated == Array(body)
        #expect(same, "the .gz inflates to the document (\(inflated.count) bytes against \(body.count))")
        let tag = try #require(headers["etag"])
        #expect(try await Self.get(port, "/epg.xml", headers: ["If-None-Match": tag]).0 == 304)
        #expect(try await Self.get(port, "/epg.xml", headers: ["If-None-Match": "\"other\""]).0 == 200)

        // The first requests rendered both documents into the cache; now they come from its
        // files, whole (with their length), the same bytes and tag.
        #expect(headers["content-length"] == nil, "the first answer is streamed as it is rendered")
        let key = tag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: setup.directory.file("guide-cache"))) == ["\(key).xml", "\(key).xml.gz"])
        let (_, cachedHeaders, cached) = try await Self.get(port, "/epg.xml")
        #expect(cached == body && cachedHeaders["etag"] == tag && cachedHeaders["content-length"] == "\(body.count)")
        let (_, cachedGzHeaders, cachedGz) = try await Self.get(port, "/epg.xml.gz")
        #expect(cachedGz == compressed && cachedGzHeaders["content-length"] == "\(compressed.count)")
    }

    @Test func aTimeShiftMovesEveryProgrammeAndUnmappedChannelsAreCounted() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        var generator = GuideGenerator(channels: (1...3).map { GuideGenerator.Channel(id: "ch\($0).example", name: "Channel \($0)") }, now: now)
        generator.days = 2
        let setup = try Setup(channels: 4) { _, directory in
            let path = directory.file("guide.xml")
            try generator.document.write(toFile: path, atomically: true, encoding: .utf8)
            var source = GuideSourceConfig(name: "file", source: path)
            source.timeShiftSeconds = 3600
            return [source]
        }
        defer { setup.shutdown() }
        try await waitUntil(timeout: .seconds(60)) { setup.app.completedGuideImports >= 1 }
        let guide = String(decoding: try await Self.get(setup.app.port, "/epg.xml").2, as: UTF8.self)
        let starts = guide.split(separator: "\n").filter { $0.contains("channel=\"ch1.example\"") }.compactMap { line -> Int64? in
            guard let range = line.range(of: #"start="[^"]+""#, options: .regularExpression) else { return nil }
            return XMLTVTime.parse(String(line[range].dropFirst(7).dropLast()))
        }
        let expected = (0..<generator.programmesPerChannel).map { generator.firstStart + Int64($0) * 1800 + 3600 }.filter { $0 + 1800 > now - 86_400 }
        #expect(starts == expected)
        let metrics = String(decoding: try await Self.get(setup.app.port, "/metrics").2, as: UTF8.self)
        #expect(metrics.contains(#"sharecast_epg_channels{state="unmapped"} 1"#), "\(metrics.split(separator: "\n").filter { $0.contains("epg") })")
        #expect(metrics.contains(#"sharecast_epg_channels{state="mapped"} 3"#))
    }

    /// An M3U provider's guide is the one its playlist names (url-tvg); `epg.mappings` gives a
    /// channel another guide channel's programmes, or none; a running channel shows what it airs.
    @Test func anM3UsURLTvgGuideWithMappingsAndNowNextOfARunningChannel() async throws {
        let setup = try Setup(channels: 3, configure: { config, panel, directory in
            let live = "\(panel.baseURL)/live/u1/pw-guide-1"
            let playlist = try directory.write("list.m3u", """
                #EXTM3U url-tvg="\(panel.baseURL)/xmltv.php?username=u1&password=pw-guide-1"
                #EXTINF:-1 tvg-id="ch1.example" tvg-chno="41",Channel 1
                \(live)/1000.ts
                #EXTINF:-1 tvg-id="renamed.example" tvg-chno="42",Something Else
                \(live)/1001.ts
                #EXTINF:-1 tvg-id="ch3.example" tvg-chno="43",Channel 3
                \(live)/1002.ts

                """)
            config.providers.append(ProviderConfig(name: "list", kind: .m3u, playlist: playlist, accounts: [ProviderAccount()]))
            config.epg.mappings = ["42": "ch2.example", "43": ""]
            config.users = [UserConfig(name: "alice", secret: Secret(Self.aliceSecret))]
            config.security.anonymousPlaylist = true
        })
        defer { setup.shutdown() }
        try await waitUntil(timeout: .seconds(60)) { setup.app.completedGuideImports >= 1 }
        let port = setup.app.port
        let guide = String(decoding: try await Self.get(port, "/epg.xml").2, as: UTF8.self)
        func programmes(_ id: String) -> [Substring] { guide.split(separator: "\n").filter { $0.contains("<programme ") && $0.contains("channel=\"\(id)\"") } }
        #expect(programmes("ch1.example").count > 100)
        // ch2.example's programmes under the tvg-id the playlist gives the mapped channel.
        #expect(programmes("renamed.example").count == programmes("ch1.example").count)
        #expect(programmes("ch3.example").isEmpty)
        #expect(guide.contains("<channel id=\"ch3.example\">"))
        // A user's playlist names the same guide, and each of its tvg-ids is a guide channel.
        let personal = String(decoding: try await Self.get(port, "/u/\(Self.aliceSecret)/playlist.m3u").2, as: UTF8.self)
        #expect(personal.hasPrefix("#EXTM3U url-tvg=\"http://127.0.0.1:\(port)/epg.xml\""), "\(personal.prefix(200))")
        let personalIDs = personal.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: #"tvg-id="[^"]+""#, options: .regularExpression) else { return nil }
            return String(line[range].dropFirst(8).dropLast())
        }
        #expect(personalIDs.count == setup.app.catalog.current.channels.count && personalIDs.contains("renamed.example"))
        for id in personalIDs { #expect(guide.contains("<channel id=\"\(id)\">"), "\(id)") }
        let metrics = String(decoding: try await Self.get(port, "/metrics").2, as: UTF8.self)
        // Served ids: ch1 (both providers), ch2 (the panel's channel 2), renamed, ch3 (both; the
        // mapping to none holds for the id, so the panel's channel 3 has none either).
        #expect(metrics.contains(#"sharecast_epg_channels{state="mapped"} 3"#), "\(metrics.split(separator: "\n").filter { $0.contains("epg") })")
        #expect(metrics.contains(#"sharecast_epg_channels{state="unmapped"} 1"#))
        #expect(!metrics.contains("pw-guide-1"))

        // A running channel: now and next in the realtime view and by id.
        let key = try #require(setup.app.catalog.current.channels.first { $0.channel.number == 41 }?.streamKey)
        let viewer = try Viewer(port: port, path: "/stream/\(key)")
        defer { viewer.close() }
        try await waitUntil { viewer.bodyCount > 10_000 }
        let api = APIClient(port: port)
        let realtime = try #require(try await api.get("/api/monitor/realtime").json as? [String: Any])
        let streams = try #require((realtime["data"] as? [String: Any])?["streams"] as? [[String: Any]])
        let stream = try #require(streams.first)
        let airing = try #require((stream["guide"] as? [String: Any])?["now"] as? [String: Any])
        let next = try #require((stream["guide"] as? [String: Any])?["next"] as? [String: Any])
        let formatter = ISO8601DateFormatter()
        let start = try #require((airing["start"] as? String).flatMap(formatter.date(from:)))
        let stop = try #require((airing["stop"] as? String).flatMap(formatter.date(from:)))
        #expect(start <= Date() && Date() < stop)
        #expect(next["start"] as? String == airing["stop"] as? String)
        #expect((airing["title"] as? String)?.isEmpty == false && airing["source"] as? String == "list")
        let id = try #require(stream["id"] as? String)
        let byID = try #require(try await api.get("/api/monitor/streams/\(id)").json as? [String: Any])
        #expect(((byID["data"] as? [String: Any])?["guide"] as? [String: Any])?["now"] as? [String: Any] != nil)
        let sources = String(decoding: try await api.get("/api/monitor/guide").body, as: UTF8.self)
        #expect(!sources.contains("pw-guide-1") && sources.contains(#""provider":"list""#))
    }

    /// Bad guides are refused with the source and the place, and the previous guide stays.
    @Test func badGuidesAreRefusedNamingThePlaceAndThePreviousGuideStays() async throws {
        try await Self.clearOfTheDayChange()
        let now = Int64(Date().timeIntervalSince1970)
        var generator = GuideGenerator(channels: (1...3).map { GuideGenerator.Channel(id: "ch\($0).example", name: "Channel \($0)") }, now: now)
        generator.days = 2
        let good = generator.document
        var path = ""
        let setup = try Setup(channels: 3, guides: { _, directory in
            path = directory.file("guide.xml")
            try good.write(toFile: path, atomically: true, encoding: .utf8)
            return [GuideSourceConfig(name: "file", source: path)]
        }, configure: { config, _, _ in config.epg.maxProgrammes = 1000 })
        defer { setup.shutdown() }
        try await waitUntil(timeout: .seconds(60)) { setup.app.completedGuideImports >= 1 }
        let port = setup.app.port, api = APIClient(port: port)
        let before = try await Self.get(port, "/epg.xml").2
        let kept = ((try await api.get("/api/monitor/guide").json as? [String: Any])?["data"] as? [[String: Any]])?.first?["programmes"] as? Int
        #expect((kept ?? 0) > 100)
        #expect(String(decoding: before, as: UTF8.self).contains("channel=\"ch1.example\""))

        let lines = good.split(separator: "\n", omittingEmptySubsequences: false)
        var many = GuideGenerator(channels: (1...3).map { GuideGenerator.Channel(id: "ch\($0).example", name: "Channel \($0)") }, now: now)
        many.slotMinutes = 10 // 3 x 144 a day for 8 days: more than max_programmes 1000 inside the kept window
        let bomb = """
            <?xml version="1.0"?>
            <!DOCTYPE tv [<!ENTITY a "aaaaaaaaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
            <tv><channel id="ch1.example"><display-name>&b;</display-name></channel></tv>
            """
        let cases: [(String, String, String)] = [
            ("truncated", lines.prefix(lines.count / 2).joined(separator: "\n"), "guide.xml:"),
            ("not XML", "{\"programmes\": []}", "guide.xml:1:"),
            ("entity bomb", bomb, "guide.xml:2:"),
            ("too many programmes", many.document, "max_programmes"),
        ]
        for (index, (what, document, place)) in cases.enumerated() {
            try document.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try await api.post("/api/monitor/guide/file/refresh").status == 202)
            try await waitUntil(timeout: .seconds(60)) { setup.app.completedGuideImports >= 2 + index }
            let source = try #require(((try await api.get("/api/monitor/guide").json as? [String: Any])?["data"] as? [[String: Any]])?.first)
            let error = source["last_error"] as? String ?? ""
            #expect(error.contains(place), "\(what): \(error)")
            #expect(source["programmes"] as? Int == kept, "\(what)")
            let served = try await Self.get(port, "/epg.xml").2
            #expect(served == before, "\(what): the previous guide is served")
            let metrics = String(decoding: try await Self.get(port, "/metrics").2, as: UTF8.self)
            #expect(metrics.contains(#"sharecast_epg_refresh_failing{source="file"} 1"#), "\(what)")
        }
        #expect(try await api.post("/api/monitor/guide/nothing/refresh").status == 404)

        // A good guide again, with one programme renamed: the served document is the new one (not
        // the cached file of the old), and the old document's cache files are gone.
        let oldKey = try #require(try await Self.get(port, "/epg.xml").1["etag"]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        try good.replacingOccurrences(of: "Channel 1 show 95<", with: "Renamed show<").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await api.post("/api/monitor/guide/file/refresh").status == 202)
        try await waitUntil(timeout: .seconds(60)) { setup.app.completedGuideImports >= 2 + cases.count }
        let (_, renamedHeaders, renamed) = try await Self.get(port, "/epg.xml")
        #expect(String(decoding: renamed, as: UTF8.self).contains("<title lang=\"en\">Renamed show</title>"))
        #expect(renamedHeaders["etag"] != "\"\(oldKey)\"")
        let files = try FileManager.default.contentsOfDirectory(atPath: setup.directory.file("guide-cache"))
        #expect(!files.isEmpty && !files.contains { $0.hasPrefix(oldKey) }, "\(files)")
    }
}
