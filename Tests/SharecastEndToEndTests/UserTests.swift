import Foundation
import GRDB
import SharecastApp
import SharecastCore
import SharecastStore
import Testing

/// Users: personal playlists limited to their groups, viewers attributed, limits, secrets.
@Suite struct UserTests {
    static let aliceSecret = "alice-secret-0123456789abcdef"

    @Test func personalPlaylistsGroupsAttributionAndLimits() async throws {
        let setup = try SharedStreamingTests.Setup(channels: { port in
            [ChannelDefinition(id: "a", name: "A", group: "News", urls: ["http://127.0.0.1:\(port)/a.ts"]),
             ChannelDefinition(id: "b", name: "B", group: "Sport", urls: ["http://127.0.0.1:\(port)/b.ts"])]
        }, configure: {
            $0.users = [UserConfig(name: "alice", secret: Secret(Self.aliceSecret), maxStreams: 1, groups: ["News"]),
                        UserConfig(name: "bob")]
            $0.security.anonymousPlaylist = false
        })
        let client = APIClient(port: setup.app.port)
        let playlist = String(decoding: try await client.get("/u/\(Self.aliceSecret)/playlist.m3u").body, as: UTF8.self)
        #expect(playlist.contains(",A\n") && !playlist.contains(",B\n"), "\(playlist)")
        let url = try #require(playlist.split(separator: "\n").first { $0.contains("/stream/") })
        #expect(url.contains("/u/\(Self.aliceSecret)/stream/"))
        let path = String(url.dropFirst("http://127.0.0.1:\(setup.app.port)".count))

        // A wrong secret, a channel outside the groups and the turned-off anonymous playlist are
        // the same 404 as any unknown path.
        let unknown = try await client.get("/no/such/path")
        for wrong in ["/u/wrong-secret-0123456789abcdef/playlist.m3u", "/u/\(Self.aliceSecret)/stream/\(setup.path("b").dropFirst("/stream/".count))", "/playlist.m3u"] {
            let reply = try await client.get(wrong)
            #expect(reply.status == 404 && reply.body == unknown.body, "\(wrong)")
        }

        let viewer = try Viewer(port: setup.app.port, path: path)
        try await waitUntil { viewer.bodyCount > 10_000 }
        #expect(setup.app.sessions.viewerCount(user: "alice") == 1)
        let realtime = String(decoding: try await client.get("/api/monitor/realtime").body, as: UTF8.self)
        #expect(realtime.contains(#""user":"alice""#), "\(realtime.prefix(600))")
        #expect(!realtime.contains(Self.aliceSecret))
        let metrics = String(decoding: try await client.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"sharecast_user_viewers{user="alice"} 1"#) && metrics.contains(#"sharecast_user_viewers{user="bob"} 0"#))

        // Over max_streams (1): 429 naming the limit.
        let second = try Viewer(port: setup.app.port, path: path)
        try await waitUntil { second.ended }
        #expect(second.status == 429)
        #expect(String(decoding: second.body, as: UTF8.self).contains("user alice may watch 1 stream at once"))

        // bob got a generated secret, stored: the same after a restart of the directory.
        viewer.close()
        let database = try setup.finish()
        let stored = try database.storedUsers()
        #expect(stored.map(\.name) == ["bob"])
        #expect(UserConfig.isValidSecret(stored[0].secret))
        let row = try await database.pool.read { db in try String.fetchOne(db, sql: "SELECT user_name FROM shared_stream_clients") }
        #expect(row == "alice")
        let everything = try await database.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM shared_stream_clients").map(\.description) }
        #expect(!everything.joined().contains(Self.aliceSecret))
    }

    @Test func userSecretsAreCheckedInTheConfiguration() {
        do {
            _ = try ConfigLoader.parse(yaml: "users:\n  - {name: carol, secret: short}\n", file: "sharecast.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.issues.map(\.description) == [
                "sharecast.yaml:2:27: users[0].secret: expected at least 22 characters of A-Z, a-z, 0-9, '-' and '_' (128 bits); leave it out to have one generated",
            ])
        }
    }
}
