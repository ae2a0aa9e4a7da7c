import Foundation
import Testing
@testable import SharecastCore

@Suite struct ProviderConfigTests {
    static let yaml = """
    providers:
      - name: acme
        type: xtream
        server: http://panel.example:8080/
        accounts:
          - {username: u1, password_env: ACME_U1}
          - {username: u2, password_file: PASSWORD_FILE, max_streams: 1}
        refresh_interval: 6h
        user_agent: TiviMate/4.7
        headers: {Referer: "http://panel.example/"}
        zap_takeover: true
      - name: other
        type: m3u
        playlist: http://other.example/get.php?username=U&password=P&type=m3u_plus
        max_streams: 2
        accounts:
          - {match: "/U/P/", replace: "/{username}/{password}/", username: V, password_env: OTHER_V, max_streams: 1}
    playlists:
      - {name: old.style, source: /srv/list.m3u}
    """

    @Test func providersWithTheirAccountsAndSecrets() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sharecast-secret-\(UUID().uuidString)").path
        try "s3cret-two\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let config = try ConfigLoader.parse(yaml: Self.yaml.replacingOccurrences(of: "PASSWORD_FILE", with: file), file: "sharecast.yaml",
                                            environment: ["ACME_U1": "s3cret-one", "OTHER_V": "s3cret-v"])
        #expect(config.providers.count == 2)
        let acme = config.providers[0]
        #expect(acme.kind == .xtream && acme.server == "http://panel.example:8080")
        #expect(acme.accounts.map(\.username) == ["u1", "u2"])
        #expect(acme.accounts.map(\.password.value) == ["s3cret-one", "s3cret-two"])
        #expect(acme.accounts.map(\.maxStreams) == [nil, 1])
        #expect(acme.refreshInterval == .seconds(6 * 3600) && acme.zapTakeover)
        #expect(acme.userAgent == "TiviMate/4.7" && acme.headers == ["Referer": "http://panel.example/"])
        let other = config.providers[1]
        #expect(other.kind == .m3u && other.accounts.count == 2)
        #expect(other.accounts[0].maxStreams == 2 && other.accounts[0].rewrite == nil)
        #expect(other.accounts[1].rewrite == URLRewrite(match: "/U/P/", replace: "/{username}/{password}/"))
        #expect(other.accounts[1].password.value == "s3cret-v")
        // Playlists are unlimited m3u providers, after the others.
        #expect(config.allProviders.map(\.name) == ["acme", "other", "old.style"])
        #expect(config.allProviders[2].accounts == [ProviderAccount()] && config.allProviders[2].fromPlaylists)
        // A configuration printed into a log shows no password.
        #expect(!"\(config)".contains("s3cret"))
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let name: String
        let yaml: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "missing password", yaml: "providers:\n  - {name: a, type: xtream, server: http://p, accounts: [{username: u}]}\n",
            expected: [#"sharecast.yaml:2:58: providers[0].accounts[0]: missing the password: give password_file, password_env or password"#]),
        Bad(name: "unset environment variable", yaml: "providers:\n  - {name: a, type: xtream, server: http://p, accounts: [{username: u, password_env: NOPE}]}\n",
            expected: [#"sharecast.yaml:2:86: providers[0].accounts[0].password_env: environment variable NOPE is not set or empty"#]),
        Bad(name: "unreadable password file", yaml: "providers:\n  - {name: a, type: xtream, server: http://p, accounts: [{username: u, password_file: /nonexistent/p}]}\n",
            expected: [#"sharecast.yaml:2:87: providers[0].accounts[0].password_file: cannot read /nonexistent/p: No such file or directory"#]),
        Bad(name: "bad name and type", yaml: "providers:\n  - {name: 'a b', type: ftp, playlist: x}\n",
            expected: [#"sharecast.yaml:2:12: providers[0].name: expected letters, digits, '_' or '-' (at most 32), got "a b""#,
                       #"sharecast.yaml:2:25: providers[0].type: expected xtream or m3u, got "ftp""#]),
        Bad(name: "xtream without server or accounts", yaml: "providers:\n  - {name: a, type: xtream}\n",
            expected: [#"sharecast.yaml:2:5: providers[0]: missing required key "server" (the panel's base URL)"#,
                       #"sharecast.yaml:2:5: providers[0]: missing required key "accounts" (one or more logins)"#]),
        Bad(name: "m3u account without rewrite", yaml: "providers:\n  - {name: a, type: m3u, playlist: x, accounts: [{max_streams: 1}]}\n",
            expected: [#"sharecast.yaml:2:50: providers[0].accounts[0]: an m3u account needs "match" and "replace": how the playlist's URLs become this login's"#]),
        Bad(name: "refresh interval", yaml: "providers:\n  - {name: a, type: m3u, playlist: x, refresh_interval: 99999999999999999999h}\n",
            expected: [#"sharecast.yaml:2:57: providers[0].refresh_interval: expected a duration from 1m to 30d (such as 30m, 12h, 1d) or 0 for never, got "99999999999999999999h""#]),
        Bad(name: "max streams", yaml: "providers:\n  - {name: a, type: m3u, playlist: x, max_streams: -1}\n",
            expected: [#"sharecast.yaml:2:52: providers[0].max_streams: expected a number of streams from 0 (no limit) to 1000, got "-1""#]),
        Bad(name: "name shared with a playlist", yaml: "providers:\n  - {name: a, type: m3u, playlist: x}\nplaylists:\n  - {name: a, source: y}\n",
            expected: [#"sharecast.yaml: playlists: the name "a" is used twice (providers and playlists share names; "config" is taken)"#]),
        Bad(name: "bad guide", yaml: "providers:\n  - {name: a, type: m3u, playlist: x, epg: {url: ftp://g, time_shift: 3d, every: 1h}}\n",
            expected: [#"sharecast.yaml:2:50: providers[0].epg.url: expected an http(s) URL, got "ftp://g""#,
                       #"sharecast.yaml:2:71: providers[0].epg.time_shift: expected a shift of at most 48h such as -2h, +1h30m or 0, got "3d""#,
                       #"sharecast.yaml:2:75: providers[0].epg.every: unknown key"#]),
        Bad(name: "guide source named like a provider", yaml: "providers:\n  - {name: a, type: m3u, playlist: x}\nepg_sources:\n  - {name: a, file: g.xml}\n",
            expected: [#"sharecast.yaml: epg_sources: the name "a" is also a provider's, whose own guide is a source of that name (rename one, or set the provider's epg: false)"#]),
    ]

    /// `providers[].epg` in each of its forms, and `epg.mappings`; guide source names stay unique.
    @Test func providersGuidesAndMappings() throws {
        let config = try ConfigLoader.parse(yaml: """
            providers:
              - {name: a, type: xtream, server: http://p, accounts: [{username: u, password: pw}]}
              - {name: b, type: m3u, playlist: x, epg: false}
              - {name: c, type: m3u, playlist: x, epg: "http://g.example/guide.xml.gz"}
              - {name: d, type: m3u, playlist: x, epg: {time_shift: -2h, refresh_interval: 6h}}
              - {name: e, type: m3u, playlist: x, epg: {file: /srv/guide.xml}}
            epg_sources:
              - {name: own, file: /srv/own.xml}
            epg:
              mappings: {a.news: bbc1.uk, "101": "", "7": itv.uk}
            """, file: "sharecast.yaml")
        #expect(config.providers.map(\.guide.location) == [.automatic, .none, .given("http://g.example/guide.xml.gz"), .automatic, .given("/srv/guide.xml")])
        #expect(config.providers[3].guide.timeShiftSeconds == -7200 && config.providers[3].guide.refreshInterval == .seconds(21_600))
        #expect(config.guideSources.map(\.name) == ["own", "a", "c", "d", "e"])
        #expect(config.guideSources.map(\.provider) == [nil, "a", "c", "d", "e"])
        #expect(config.guideSources[1].source.isEmpty && config.guideSources[3].timeShiftSeconds == -7200)
        #expect(config.epg.mappings == ["a.news": "bbc1.uk", "101": "", "7": "itv.uk"])
    }

    @Test(arguments: bad)
    func badProvidersAreRejectedWithTheirPlace(_ bad: Bad) {
        do {
            _ = try ConfigLoader.parse(yaml: bad.yaml, file: "sharecast.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.issues.map(\.description) == bad.expected)
        }
    }

    @Test func durations() {
        #expect(DurationText.seconds("90") == 90)
        #expect(DurationText.seconds("30m") == 1800)
        #expect(DurationText.seconds("1h30m") == 5400)
        #expect(DurationText.seconds("7d") == 604_800)
        #expect(DurationText.seconds("12x") == nil)
        #expect(DurationText.seconds("h") == nil)
        #expect(DurationText.seconds("5") == 5)
        #expect(DurationText.seconds("-5") == nil)
        #expect(DurationText.seconds("9223372036854775807d") == nil)
    }
}
