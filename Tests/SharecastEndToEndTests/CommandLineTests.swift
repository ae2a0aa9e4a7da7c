import Foundation
import GRDB
import SharecastStore
import Testing

/// The CLI's contract: exit statuses, messages that name the place, and what lands in the database.
@Suite struct CommandLineTests {
    @Test func badConfigurationExitsWithStatusTwoAndNamesThePlace() async throws {
        let directory = try TemporaryDirectory()
        let bad = try directory.write("bad.yaml", "server:\n  port: 8085\nshared_streaming:\n  client_timeout: abc\n  bogus: 1\n")
        let check = try await ChildProcess.run(Tools.sharecast, ["config", "check", bad])
        #expect(check.status == 2)
        #expect(check.stderr == """
        \(bad):4:19: shared_streaming.client_timeout: expected a positive integer, got "abc"
        \(bad):5:3: shared_streaming.bogus: unknown key

        """)

        // The server refuses to start on it: nothing listens, nothing is created.
        let serve = try await ChildProcess.run(Tools.sharecast, ["serve", "--config", bad, "--database", directory.file("db.sqlite")])
        #expect(serve.status == 2)
        #expect(!FileManager.default.fileExists(atPath: directory.file("db.sqlite")))

        let good = try directory.write("good.yaml", "channels:\n  - {id: t, urls: [\"builtin:testpattern\"]}\n")
        let ok = try await ChildProcess.run(Tools.sharecast, ["config", "check", good])
        #expect(ok.status == 0)
        #expect(ok.stdout == "\(good): ok (1 channels, 0 playlists)\n")
    }

    @Test func badEnvironmentOverrideExitsWithStatusTwo() async throws {
        let directory = try TemporaryDirectory()
        let result = try await ChildProcess.run(
            Tools.sharecast, ["serve", "--database", directory.file("db.sqlite")],
            environment: ["SHARECAST_SHARED_STREAMING_MAX_CONCURRENT_STREAMS": "-1"], directory: directory.path
        )
        #expect(result.status == 2)
        #expect(result.stderr.contains(#"environment SHARECAST_SHARED_STREAMING_MAX_CONCURRENT_STREAMS: shared_streaming.max_concurrent_streams: expected a positive integer, got "-1""#))
    }

    @Test func environmentOverridesTheFile() async throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("sharecast.yaml", "server: {listen: 127.0.0.1, port: 1}\n")
        let server = try ChildProcess(
            Tools.sharecast, ["serve", "--config", config, "--database", directory.file("db.sqlite")],
            environment: ["SHARECAST_SERVER_PORT": "0"], directory: directory.path
        )
        let port = try await listeningPort(of: server)
        #expect(port > 1)
        server.signal(SIGINT)
        #expect(try await server.waitForExit() == 0)
    }

    @Test func playlistImportSkipsBrokenEntriesAndKeepsKeysAcrossReimports() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("db.sqlite")
        let playlist = directory.file("provider.m3u")
        let text = "\u{FEFF}#EXTINF:-1 group-title=\"News\" tvg-id=\"one\",One\r\nhttp://p.example/1.ts\r\n"
            + "#EXTINF:-1,Broken\r\n#EXTINF:-1 tvg-logo=\"http://l/2.png\",Two\r\nhttp://p.example/2.ts\r\n"
        try text.write(toFile: playlist, atomically: true, encoding: .utf8)

        let first = try await ChildProcess.run(Tools.sharecast, ["playlist", "import", playlist, "--database", database], directory: directory.path)
        #expect(first.status == 0)
        #expect(first.stdout.contains("imported 2 entries into playlist \"provider\": 2 added"))
        #expect(first.stderr.contains("warning: \(playlist):3: #EXTINF has no URL after it; skipped"))
        let keys = try Self.keys(in: database)
        #expect(keys.keys.sorted() == ["provider.one", "provider.two"])

        let second = try await ChildProcess.run(Tools.sharecast, ["playlist", "import", playlist, "--database", database], directory: directory.path)
        #expect(second.status == 0)
        #expect(second.stdout.contains("0 added, 0 updated, 2 unchanged, 0 removed"))
        #expect(try Self.keys(in: database) == keys)

        let missing = try await ChildProcess.run(Tools.sharecast, ["playlist", "import", directory.file("nope.m3u"), "--database", database])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope.m3u: No such file or directory"))
        #expect(try Self.keys(in: database) == keys)
    }

    static func keys(in path: String) throws -> [String: String] {
        let database = try SharecastDatabase(path: path)
        defer { try? database.close() }
        return Dictionary(uniqueKeysWithValues: try database.activeChannels().map { ($0.channel.id, $0.streamKey) })
    }
}
