import Foundation
import Testing
@testable import SharecastCore

@Suite struct ConfigLoaderTests {
    struct BadConfig: Sendable, CustomTestStringConvertible {
        let name: String
        let yaml: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let badConfigs: [BadConfig] = [
        BadConfig(name: "unknown key", yaml: "server:\n  prot: 9000\n", expected: [#"sharecast.yaml:2:3: server.prot: unknown key (did you mean "port"?)"#]),
        BadConfig(name: "unknown section", yaml: "severs: {}\n", expected: [#"sharecast.yaml:1:1: severs: unknown key (did you mean "server"?)"#]),
        BadConfig(
            name: "wrong type",
            yaml: "shared_streaming:\n  client_timeout: abc\n",
            expected: [#"sharecast.yaml:2:19: shared_streaming.client_timeout: expected a positive integer, got "abc""#]
        ),
        BadConfig(
            name: "negative value",
            yaml: "shared_streaming:\n  monitoring:\n    stats_retention_days: -3\n",
            expected: [#"sharecast.yaml:3:27: shared_streaming.monitoring.stats_retention_days: expected a positive integer, got "-3""#]
        ),
        BadConfig(
            name: "port out of range",
            yaml: "server: {port: 70000}\n",
            expected: [#"sharecast.yaml:1:16: server.port: expected a port number from 0 to 65535, got "70000""#]
        ),
        BadConfig(
            name: "mapping where a number belongs",
            yaml: "shared_streaming:\n  max_concurrent_streams: {a: 1}\n",
            expected: ["sharecast.yaml:2:27: shared_streaming.max_concurrent_streams: expected a positive integer, got a mapping"]
        ),
        BadConfig(name: "bad YAML", yaml: "server:\n  port: [1, 2\n", expected: ["sharecast.yaml:3:1: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence"]),
        BadConfig(name: "top level is a list", yaml: "- 1\n- 2\n", expected: ["sharecast.yaml:1:1: expected a mapping, got a list"]),
        BadConfig(
            name: "bad boolean",
            yaml: "shared_streaming:\n  enabled: maybe\n",
            expected: [#"sharecast.yaml:2:12: shared_streaming.enabled: expected true or false, got "maybe""#]
        ),
        BadConfig(
            name: "bad listen address",
            yaml: "server:\n  listen: example.com\n",
            expected: [#"sharecast.yaml:2:11: server.listen: expected an IP address such as 0.0.0.0 or ::, got "example.com""#]
        ),
        BadConfig(
            name: "channel problems, all reported",
            yaml: """
            channels:
              - {id: "bad id!", urls: ["http://x/1"]}
              - {id: ok, urls: ["ftp://x/1"]}
              - {id: two, name: Two}
              - {id: ok, urls: ["http://y"], colour: red}
            """,
            expected: [
                #"sharecast.yaml:2:10: channels[0].id: expected letters, digits, '.', '_' or '-' (at most 64), got "bad id!""#,
                #"sharecast.yaml:3:21: channels[1].urls[0]: expected an http(s) URL or builtin:testpattern, got "ftp://x/1""#,
                #"sharecast.yaml:4:5: channels[2]: missing required key "urls""#,
                #"sharecast.yaml:5:10: channels[3].id: duplicate channel id "ok""#,
                #"sharecast.yaml:5:34: channels[3].colour: unknown key"#,
            ]
        ),
        BadConfig(
            name: "playlist without source",
            yaml: "playlists:\n  - name: provider\n",
            expected: [#"sharecast.yaml:2:5: playlists[0]: missing required key "source""#]
        ),
        BadConfig(
            name: "security lists, each item checked",
            yaml: "security:\n  api_tokens: [short]\n  deny: [10.0.0.0/8, 10.0.0.0/33, example.com]\n  trusted_proxies: 127.0.0.1\n",
            expected: [
                "sharecast.yaml:2:16: security.api_tokens[0]: expected a token of at least 16 characters without spaces",
                #"sharecast.yaml:3:22: security.deny[1]: expected an IP address or CIDR network such as 10.0.0.0/8, got "10.0.0.0/33""#,
                #"sharecast.yaml:3:35: security.deny[2]: expected an IP address or CIDR network such as 10.0.0.0/8, got "example.com""#,
                #"sharecast.yaml:4:20: security.trusted_proxies: expected a list, got "127.0.0.1""#,
            ]
        ),
        BadConfig(
            name: "channel numbers",
            yaml: "channels:\n  - {id: a, number: 5, urls: [builtin:testpattern]}\n  - {id: b, number: 5, urls: [builtin:testpattern]}\n  - {id: c, number: 1e16, urls: [builtin:testpattern]}\n",
            expected: [
                #"sharecast.yaml:3:21: channels[1].number: channel number 5 is already channel "a"'s"#,
                #"sharecast.yaml:4:21: channels[2].number: expected a channel number from 1 to 9999999, got "1e16""#,
            ]
        ),
        BadConfig(name: "duplicate key", yaml: "server:\n  port: 1\n  port: 2\n", expected: [#"sharecast.yaml:3:3: duplicate key "port" (first at line 2)"#]),
        BadConfig(name: "duplicate key in a flow mapping", yaml: "server: {port: 1, port: 2}\n", expected: [#"sharecast.yaml:1:10: duplicate key "port" in the mapping that starts here"#]),
        BadConfig(name: "control character", yaml: "server:\n  port: 80\u{01}\n", expected: ["sharecast.yaml:2:11: invalid YAML: control characters are not allowed"]),
    ]

    @Test(arguments: badConfigs)
    func badConfigIsRejectedWithItsPlace(_ bad: BadConfig) {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml: bad.yaml, file: "sharecast.yaml") }
        do {
            _ = try ConfigLoader.parse(yaml: bad.yaml, file: "sharecast.yaml")
        } catch {
            #expect(error.issues.map(\.description) == bad.expected)
        }
    }

    @Test func embeddedDefaultIsTheSeedsDefaultsPlusTheTestChannel() throws {
        let loaded = try ConfigLoader.load(path: nil)
        var expected = SharecastConfig()
        expected.channels = [ChannelDefinition(id: "test", name: "Test Pattern", group: "Sharecast", urls: ["builtin:testpattern"])]
        #expect(loaded.config == expected)
        #expect(loaded.source == ConfigLoader.embeddedSourceName)
        #expect(loaded.config.server.port == 8085)
        #expect(loaded.config.sharedStreaming.monitoring.bandwidthThreshold == 50_000)
    }

    @Test func exampleConfigInTheRepositoryIsValid() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../config/sharecast.yaml").standardized.path
        let loaded = try ConfigLoader.load(path: path)
        #expect(loaded.config.channels.contains { $0.urls == ["builtin:testpattern"] })
    }

    @Test func environmentBeatsTheFileAndFlagsBeatTheEnvironment() throws {
        let path = try TemporaryFile(contents: "server:\n  port: 7000\nshared_streaming:\n  max_concurrent_streams: 5\n")
        let environment = [
            "SHARECAST_SERVER_PORT": "9000",
            "SHARECAST_SHARED_STREAMING_MAX_CONCURRENT_STREAMS": "10",
            "SHARECAST_SHARED_STREAMING_MONITORING_ENABLED": "false",
            "SHARECAST_SERVR_PORT": "1",
        ]
        let fromEnvironment = try ConfigLoader.load(path: path.path, environment: environment)
        #expect(fromEnvironment.config.server.port == 9000)
        #expect(fromEnvironment.config.sharedStreaming.maxConcurrentStreams == 10)
        #expect(fromEnvironment.config.sharedStreaming.monitoring.enabled == false)
        #expect(fromEnvironment.warnings == ["environment SHARECAST_SERVR_PORT: not a Sharecast setting; ignored"])

        let withFlag = try ConfigLoader.load(
            path: path.path, environment: environment,
            overrides: [ConfigOverride(key: "server.port", value: "9100", origin: "--port")]
        )
        #expect(withFlag.config.server.port == 9100)
    }

    @Test func securityListsComeFromTheFileOrCommaSeparatedFromTheEnvironment() throws {
        let path = try TemporaryFile(contents: """
            security:
              api_tokens: [0123456789abcdef0123]
              allow: [192.168.0.0/16, "::1"]
              rate_limit: {api_per_minute: 180, api_burst: 4}
            """)
        let loaded = try ConfigLoader.load(path: path.path, environment: ["SHARECAST_SECURITY_DENY": "10.0.0.0/8, 2001:db8::/32"])
        #expect(loaded.config.security.apiTokens == ["0123456789abcdef0123"])
        #expect(loaded.config.security.allow == ["192.168.0.0/16", "::1"])
        #expect(loaded.config.security.deny == ["10.0.0.0/8", "2001:db8::/32"])
        #expect(loaded.config.security.apiRatePerMinute == 180 && loaded.config.security.apiBurst == 4)
        #expect(throws: ConfigError.invalid([ConfigIssue(
            location: "environment SHARECAST_SECURITY_ALLOW", key: "security.allow",
            message: #"item 2: expected an IP address or CIDR network such as 10.0.0.0/8, got "nope""#
        )])) {
            try ConfigLoader.load(path: nil, environment: ["SHARECAST_SECURITY_ALLOW": "10.0.0.1,nope"])
        }
    }

    @Test func cidrMatchingCoversBothFamiliesAndMappedAddresses() throws {
        let network = try #require(CIDR("10.1.0.0/16"))
        #expect(network.contains(try #require(IPAddress("10.1.255.7"))))
        #expect(!network.contains(try #require(IPAddress("10.2.0.1"))))
        #expect(network.contains(try #require(IPAddress("::ffff:10.1.2.3"))))
        let six = try #require(CIDR("2001:db8::/32"))
        #expect(six.contains(try #require(IPAddress("2001:db8:ffff::1"))))
        #expect(!six.contains(try #require(IPAddress("2001:db9::1"))))
        #expect(CIDR("10.0.0.0/33") == nil && CIDR("1.2.3") == nil && CIDR("::/129") == nil)
        #expect(try #require(IPAddress("127.0.0.1")).isPrivateOrLocal)
        #expect(try #require(IPAddress("169.254.169.254")).isPrivateOrLocal)
        #expect(try #require(IPAddress("fd00::1")).isPrivateOrLocal)
        #expect(!(try #require(IPAddress("93.184.216.34")).isPrivateOrLocal))
        #expect(IPAddress("::ffff:192.168.1.1")?.description == "192.168.1.1")
        // IPv6 forms that carry an IPv4 address are judged by it.
        for text in ["64:ff9b::7f00:1", "::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::1", "2002:c0a8:101::1", "::ffff:10.1.2.3", "100::1"] {
            #expect(IPAddress(text)?.isPrivateOrLocal == true, "\(text)")
        }
        for text in ["64:ff9b::5db8:d822", "2002:5db8:d822::1", "2606:4700::1111"] {
            #expect(IPAddress(text)?.isPrivateOrLocal == false, "\(text)")
        }
    }

    @Test func badEnvironmentValueNamesTheVariable() {
        #expect(throws: ConfigError.invalid([ConfigIssue(
            location: "environment SHARECAST_SERVER_PORT", key: "server.port",
            message: #"expected a port number from 0 to 65535, got "x""#
        )])) {
            try ConfigLoader.load(path: nil, environment: ["SHARECAST_SERVER_PORT": "x"])
        }
    }

    @Test func missingFileIsReportedByPath() {
        #expect(throws: ConfigError.unreadable(path: "/nonexistent/sharecast.yaml", reason: "No such file or directory")) {
            try ConfigLoader.load(path: "/nonexistent/sharecast.yaml")
        }
    }

    @Test func emptyFileMeansDefaults() throws {
        #expect(try ConfigLoader.parse(yaml: "", file: "x.yaml") == SharecastConfig())
        #expect(try ConfigLoader.parse(yaml: "# only a comment\n", file: "x.yaml") == SharecastConfig())
    }

    @Test func publicBaseURLLosesItsTrailingSlash() throws {
        let config = try ConfigLoader.parse(yaml: "server: {public_base_url: \"http://tv.example:8085/\"}", file: "x")
        #expect(config.server.publicBaseURL == "http://tv.example:8085")
    }
}

/// A file under the system's temporary directory, removed when the value is released.
final class TemporaryFile {
    let path: String

    init(contents: String, suffix: String = ".yaml") throws {
        path = NSTemporaryDirectory() + "sharecast-test-\(UUID().uuidString)\(suffix)"
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
