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

        init(channels: Int, guides: (XtreamOrigin, TemporaryDirectory) throws -> [GuideSourceConfig]) throws {
            var quiet = Logger(label: "panel")
            quiet.logLevel = .critical
            panel = try XtreamOrigin(logins: [XtreamOrigin.Login(username: "u1", password: "pw-guide-1", maxConnections: 1)],
                                     channels: (0..<channels).map { XtreamOrigin.Channel(id: 1000 + $0, name: "Channel \($0 + 1)", category: "All", epgID: "ch\($0 + 1).example") },
                                     logger: quiet)
            directory = try TemporaryDirectory()
            var config = SharecastConfig()
            config.server.listen = "127.0.0.1"
            config.server.port = 0
            config.database.path = directory.file("db.sqlite")
            config.sharedStreaming.bufferPath = directory.file("buffers")
            config.alerting.enabled = false
            config.security.apiRatePerMinute = 0
            config.channels = []
            config.providers = [ProviderConfig(name: "acme", kind: .xtream, server: panel.baseURL,
                                               accounts: [ProviderAccount(username: "u1", password: Secret("pw-guide-1"))])]
            config.epgSources = try guides(panel, directory)
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

    @Test func aProvidersGuideIsServedValidForEveryPlaylistChannel() async throws {
        let validator = try Tools.require("tv_validate_file")
        let setup = try Setup(channels: 500) { panel, _ in
            [GuideSourceConfig(name: "panel", source: "\(panel.baseURL)/xmltv.php?username=u1&password=pw-guide-1")]
        }
        defer { setup.shutdown() }
        try await waitUntil(timeout: .seconds(240)) { setup.app.completedGuideImports >= 1 }
        let port = setup.app.port
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
        #expect(inflated == Array(body))
        let tag = try #require(headers["etag"])
        #expect(try await Self.get(port, "/epg.xml", headers: ["If-None-Match": tag]).0 == 304)
        #expect(try await Self.get(port, "/epg.xml", headers: ["If-None-Match": "\"other\""]).0 == 200)
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
}
