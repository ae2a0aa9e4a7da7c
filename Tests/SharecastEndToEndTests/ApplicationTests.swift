import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SharecastApp
import SharecastCore
import SharecastStore
import Testing

/// The assembled server, in-process, over real HTTP on loopback.
@Suite struct ApplicationTests {
    /// A configuration on a free loopback port with its database in `directory`.
    static func config(in directory: TemporaryDirectory) -> SharecastConfig {
        SharecastConfig.forTest(in: directory)
    }

    static func start(_ configure: (inout SharecastConfig) -> Void = { _ in }) throws -> (Application, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        var config = Self.config(in: directory)
        config.channels = [
            ChannelDefinition(id: "test", name: "Test Pattern", group: "Sharecast", urls: [StreamURL.testPattern]),
            ChannelDefinition(id: "news", name: "News, \"HD\"", group: "News", urls: ["http://upstream.example/news.ts"],
                              logo: "http://logos.example/news.png", tvgID: "news.example"),
        ]
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return (try Application(config: config, logger: logger), directory)
    }

    static func get(_ url: String, host: String? = nil) async throws -> (status: Int, body: String, headers: [AnyHashable: Any]) {
        var request = URLRequest(url: URL(string: url)!)
        if let host { request.setValue(host, forHTTPHeaderField: "Host") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), http?.allHeaderFields ?? [:])
    }

    @Test func playlistURLsUseTheHostHeaderOrThePublicBaseURL() async throws {
        let (app, _) = try Self.start()
        defer { app.shutdown() }
        let served = try await Self.get("http://127.0.0.1:\(app.port)/playlist.m3u", host: "tv.local:8085")
        #expect(served.status == 200)
        let urls = served.body.split(separator: "\n").filter { $0.hasPrefix("http") }
        #expect(urls.count == 2)
        #expect(urls.allSatisfy { $0.hasPrefix("http://tv.local:8085/stream/") && $0.count == "http://tv.local:8085/stream/".count + 32 })

        let (configured, _) = try Self.start { $0.server.publicBaseURL = "https://tv.example.org/sharecast" }
        defer { configured.shutdown() }
        let rewritten = try await Self.get("http://127.0.0.1:\(configured.port)/playlist.m3u")
        #expect(rewritten.body.split(separator: "\n").filter { $0.hasPrefix("http") }.allSatisfy { $0.hasPrefix("https://tv.example.org/sharecast/stream/") })
    }

    @Test func aHostHeaderThatCouldInjectAPathIsRefused() async throws {
        let (app, _) = try Self.start()
        defer { app.shutdown() }
        let served = try await Self.get("http://127.0.0.1:\(app.port)/playlist.m3u", host: "evil.example/x?")
        #expect(served.status == 400)
        #expect(served.body.contains("\"code\":\"bad_host\""))
    }

    /// The served playlist, fetched over HTTP and imported by the importer, gives back the catalog.
    @Test func servedPlaylistRoundTripsThroughTheImporter() async throws {
        let (app, _) = try Self.start()
        defer { app.shutdown() }
        let url = "http://127.0.0.1:\(app.port)/playlist.m3u"
        let parsed = try PlaylistImporter().load(PlaylistSource(name: "served", source: url))
        #expect(parsed.warnings.isEmpty)
        let catalog = app.catalog.current.channels
        #expect(parsed.entries.map(\.title) == catalog.map(\.channel.name))
        #expect(parsed.entries.map(\.group) == catalog.map { $0.channel.group.isEmpty ? nil : $0.channel.group })
        #expect(parsed.entries.map(\.logo) == catalog.map(\.channel.logo))
        #expect(parsed.entries.map(\.tvgID) == catalog.map(\.channel.tvgID))
        #expect(parsed.entries.map(\.url) == catalog.map { "http://127.0.0.1:\(app.port)/stream/\($0.streamKey)" })
    }

    @Test func unknownKeysRevealNothing() async throws {
        let (app, _) = try Self.start()
        defer { app.shutdown() }
        let base = "http://127.0.0.1:\(app.port)"
        let unknownPath = try await Self.get("\(base)/no/such/thing")
        let wellFormedKey = try await Self.get("\(base)/stream/\(StreamKey.generate())")
        let malformedKey = try await Self.get("\(base)/stream/../../etc/passwd")
        let shortKey = try await Self.get("\(base)/stream/abc")
        for response in [wellFormedKey, malformedKey, shortKey] {
            #expect(response.status == 404)
            #expect(response.body == unknownPath.body)
        }
    }

    @Test func keysSurviveARestart() async throws {
        let directory: TemporaryDirectory
        let before: [String]
        do {
            let (app, dir) = try Self.start()
            directory = dir
            before = app.catalog.current.channels.map(\.streamKey)
            app.shutdown()
        }
        var config = Self.config(in: directory)
        config.channels = [
            ChannelDefinition(id: "test", name: "Test Pattern", group: "Sharecast", urls: [StreamURL.testPattern]),
            ChannelDefinition(id: "news", name: "News", urls: ["http://upstream.example/news.ts"]),
        ]
        let again = try Application(config: config, logger: Logger(label: "test"))
        defer { again.shutdown() }
        #expect(again.catalog.current.channels.map(\.streamKey) == before)
    }

    @Test func configuredPlaylistsAreImportedInTheBackgroundAndBrokenOnesKeepTheCatalog() async throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("good.m3u", "#EXTM3U\n#EXTINF:-1,Alpha\nhttp://p/a\n#EXTINF:-1,Beta\nhttp://p/b\n")
        var config = Self.config(in: directory)
        config.playlists = [PlaylistSource(name: "prov", source: good)]
        var app: Application? = try Application(config: config, logger: Logger(label: "test"))
        try await waitUntil { app?.completedImports == 1 }
        #expect(app?.catalog.current.channels.map(\.channel.id) == ["prov.alpha", "prov.beta"])
        app?.shutdown()

        // The provider now serves an error page: the import fails and the channels stay.
        try "<!DOCTYPE html><html>503</html>".write(toFile: good, atomically: true, encoding: .utf8)
        app = try Application(config: config, logger: Logger(label: "test"))
        try await waitUntil { app?.completedImports == 1 }
        #expect(app?.catalog.current.channels.map(\.channel.id) == ["prov.alpha", "prov.beta"])
        app?.shutdown()
    }
}
