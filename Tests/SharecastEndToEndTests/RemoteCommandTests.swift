import Foundation
import Logging
import SharecastApp
import SharecastCore
import Testing

/// `sharecast streams list|stop`, `stats` and `cleanup` against a running server, as a person and
/// as a script would use them.
@Suite struct RemoteCommandTests {
    static let token = "cli-token-0123456789abcdef"

    func run(_ arguments: [String], token: String? = RemoteCommandTests.token) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(Tools.sharecast, arguments + (token.map { ["--token", $0] } ?? []))
    }

    @Test func eachCommandAsATableAndAsJSON() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { $0.security.apiTokens = [Self.token] })
        let server = ["--server", "http://127.0.0.1:\(setup.app.port)"]
        let viewers = [try setup.viewer("a"), try setup.viewer("a"), try setup.viewer("b")]
        try await waitUntil { viewers.allSatisfy { $0.bodyCount > 10_000 } }

        let list = try await run(["streams", "list"] + server)
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("CLIENTS") == true)
        let aLine = try #require(lines.first { $0.contains("  a  ") })
        #expect(aLine.contains("active") && aLine.split(separator: " ", omittingEmptySubsequences: true)[4] == "2")

        let listJSON = try await run(["streams", "list", "--json", "--status", "active"] + server)
        let streams = try #require((try JSONSerialization.jsonObject(with: Data(listJSON.stdout.utf8)) as? [String: Any])?["data"] as? [[String: Any]])
        #expect(Set(streams.compactMap { $0["channel_id"] as? String }) == ["a", "b"])
        let aID = try #require(streams.first { $0["channel_id"] as? String == "a" }?["id"] as? String)

        let stats = try await run(["stats"] + server)
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("viewers") && stats.stdout.split(separator: "\n").contains { $0.hasPrefix("viewers ") && $0.hasSuffix(" 3") })
        let statsJSON = try await run(["stats", "--json"] + server)
        #expect(((try JSONSerialization.jsonObject(with: Data(statsJSON.stdout.utf8)) as? [String: Any])?["data"] as? [String: Any])?["clients"] as? Int == 3)

        let cleanup = try await run(["cleanup"] + server)
        #expect(cleanup.status == 0 && cleanup.stdout.contains("idle streams stopped"))
        let cleanupJSON = try await run(["cleanup", "--json"] + server)
        #expect(cleanupJSON.stdout.contains(#""sessions_stopped":0"#))

        let stop = try await run(["streams", "stop", aID] + server)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout == "stopped stream \(aID); viewers disconnected: 2\n")
        try await waitUntil { viewers[0].ended && viewers[1].ended }
        let again = try await run(["streams", "stop", aID, "--json"] + server)
        #expect(again.status == 1 && again.stderr.contains("HTTP 409"))
    }

    @Test func providersListAndRefresh() async throws {
        let panel = try XtreamOrigin.quiet(logins: [XtreamOrigin.Login(username: "u1", password: "cli-secret-pw", maxConnections: 2)],
                                     channels: [XtreamOrigin.Channel(id: 1, name: "One", category: "News")])
        defer { panel.shutdown() }
        let setup = try SharedStreamingTests.Setup(configure: {
            $0.security.apiTokens = [Self.token]
            $0.providers = [ProviderConfig(name: "acme", kind: .xtream, server: panel.baseURL,
                                           accounts: [ProviderAccount(username: "u1", password: Secret("cli-secret-pw"))])]
        })
        try await waitUntil { setup.app.completedImports >= 1 }
        let server = ["--server", "http://127.0.0.1:\(setup.app.port)"]
        let list = try await run(["providers", "list"] + server)
        #expect(list.status == 0, "\(list.stderr)")
        let line = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix("acme") }, "\(list.stdout)")
        #expect(line.contains("xtream") && line.contains("u1") && line.contains("active") && line.contains("0/2"), "\(line)")
        #expect(!list.stdout.contains("cli-secret-pw"))
        let json = try await run(["providers", "list", "--json"] + server)
        #expect(json.stdout.contains(#""max_streams":2"#) && !json.stdout.contains("cli-secret-pw"))
        let refresh = try await run(["providers", "refresh", "acme"] + server)
        #expect(refresh.status == 0 && refresh.stdout.contains("refresh of provider acme requested"))
        try await waitUntil { setup.app.completedImports >= 2 }
        let unknown = try await run(["providers", "refresh", "nobody"] + server)
        #expect(unknown.status == 1 && unknown.stderr.contains("HTTP 404"))
    }

    @Test func clearErrorsForAStoppedServerAndAWrongToken() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { $0.security.apiTokens = [Self.token] })
        let wrong = try await run(["stats", "--server", "http://127.0.0.1:\(setup.app.port)"], token: "not-the-right-token-000")
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("refused the token (HTTP 401"))
        let none = try await run(["streams", "list", "--server", "http://127.0.0.1:\(setup.app.port)"], token: nil)
        #expect(none.status == 1 && none.stderr.contains("pass --token or set SHARECAST_API_TOKEN"))
        #expect(none.stderr.contains("none was given") && !none.stderr.contains("refused the token"), "\(none.stderr)")

        // A port nothing listens on: the server is down.
        let port = setup.app.port
        setup.app.shutdown()
        for command in [["stats"], ["cleanup"], ["streams", "list"], ["streams", "stop", UUID().uuidString], ["stats", "--json"]] {
            let down = try await run(command + ["--server", "http://127.0.0.1:\(port)"])
            #expect(down.status == 1, "\(command)")
            #expect(down.stderr.hasPrefix("cannot reach Sharecast at http://127.0.0.1:\(port)"), "\(command): \(down.stderr)")
            #expect(down.stderr.contains("Is the server running?"))
            #expect(down.stdout.isEmpty)
        }
    }
}
