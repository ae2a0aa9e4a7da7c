import Foundation
import SharecastStore
import Testing

/// `kill -9` in the middle of database writes: the file must reopen, pass `integrity_check`, and hold
/// either the catalog from before the interrupted import or the one after it, never a mix.
@Suite struct CrashSafetyTests {
    static func playlist(prefix: String, count: Int) -> String {
        var text = "#EXTM3U\n"
        for index in 0..<count {
            text += "#EXTINF:-1 tvg-id=\"\(prefix)\(index)\" group-title=\"Group \(index % 40)\",\(prefix) channel \(index)\n"
            text += "http://provider.example/\(prefix)/\(index).ts\n"
        }
        return text
    }

    @Test func catalogSurvivesKillNineDuringImportsAndServing() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("db.sqlite")
        let count = 5000
        let first = try directory.write("a.m3u", Self.playlist(prefix: "A", count: count))
        let second = try directory.write("b.m3u", Self.playlist(prefix: "B", count: count))
        let import1 = try await ChildProcess.run(Tools.sharecast, ["playlist", "import", first, "--name", "provider", "--database", database])
        #expect(import1.status == 0, "\(import1.stderr)")
        let idsA = try Self.channelIDs(database)
        let idsB = Set(Self.expectedIDs(prefix: "B", count: count))
        #expect(idsA.count == count)

        var killedMidway = 0
        var current = idsA
        for (round, delay) in [0.2, 0.5, 1.0, 1.5, 2.5].enumerated() {
            let source = round.isMultiple(of: 2) ? second : first
            let child = try ChildProcess(Tools.sharecast, ["playlist", "import", source, "--name", "provider", "--database", database])
            try await Task.sleep(for: .seconds(delay))
            child.signal(SIGKILL)
            let status = try await child.waitForExit()
            let reopened = try SharecastDatabase(path: database)
            #expect(try reopened.integrityCheck() == ["ok"])
            let ids = Set(try reopened.activeChannels().map(\.channel.id))
            try reopened.close()
            #expect(ids.count == count)
            #expect(ids == idsA || ids == idsB, "round \(round) left a mixed catalog")
            if status == 128 + SIGKILL, ids == current { killedMidway += 1 }
            current = ids
        }
        // The delays straddle the import's duration, so at least one kill lands inside a write.
        #expect(killedMidway >= 1)

        // The server, killed while its background import writes.
        let config = try directory.write("sharecast.yaml", """
        server: {listen: 127.0.0.1, port: 0}
        playlists:
          - {name: provider, source: \(second)}
        """)
        for delay in [0.1, 0.6] {
            let server = try ChildProcess(Tools.sharecast, ["serve", "--config", config, "--database", database])
            _ = try await listeningPort(of: server)
            try await Task.sleep(for: .seconds(delay))
            server.signal(SIGKILL)
            try await server.waitForExit()
            let reopened = try SharecastDatabase(path: database)
            #expect(try reopened.integrityCheck() == ["ok"])
            #expect(try reopened.activeChannels().filter { $0.channel.source == "provider" }.count == count)
            try reopened.close()
        }
    }

    @Test func sessionsOfAKilledServerAreStoppedWhenTheNextOneStarts() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.file("db.sqlite")
        let config = try directory.write("sharecast.yaml", """
        server: {listen: 127.0.0.1, port: 0}
        channels:
          - {id: test, name: Test, urls: ["builtin:testpattern"]}
        shared_streaming: {buffer_path: \(directory.file("buffers"))}
        """)
        func openRows() throws -> (streams: Int, viewers: Int) {
            let reopened = try SharecastDatabase(path: database)
            defer { try? reopened.close() }
            return try reopened.pool.read { db in
                (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shared_streams WHERE status IN ('starting', 'active', 'idle')") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shared_stream_clients WHERE disconnected_at IS NULL") ?? 0)
            }
        }
        let first = try ChildProcess(Tools.sharecast, ["serve", "--config", config, "--database", database])
        let port = try await listeningPort(of: first)
        let playlist = String(decoding: try await APIClient(port: port).get("/playlist.m3u").body, as: UTF8.self)
        let line = try #require(playlist.split(separator: "\n").first { $0.contains("/stream/") })
        let path = try #require(line.range(of: "/stream/").map { String(line[$0.lowerBound...]) })
        let viewer = try Viewer(port: port, path: path)
        try await waitUntil(timeout: .seconds(10)) { viewer.bodyCount > 0 && ((try? openRows()) ?? (0, 0)) == (1, 1) }
        first.signal(SIGKILL)
        try await first.waitForExit()
        viewer.close()
        #expect(try openRows() == (1, 1), "the killed server left its session open")

        let second = try ChildProcess(Tools.sharecast, ["serve", "--config", config, "--database", database])
        _ = try await listeningPort(of: second)
        #expect(try openRows() == (0, 0), "open rows were closed before the server listened")
        second.signal(SIGTERM)
        try await second.waitForExit()
    }

    static func channelIDs(_ path: String) throws -> Set<String> {
        let database = try SharecastDatabase(path: path)
        defer { try? database.close() }
        return Set(try database.activeChannels().map(\.channel.id))
    }

    static func expectedIDs(prefix: String, count: Int) -> [String] {
        (0..<count).map { "provider.\(prefix.lowercased())-channel-\($0)" }
    }
}
