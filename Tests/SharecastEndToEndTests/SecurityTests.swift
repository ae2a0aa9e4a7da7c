import Foundation
import SharecastApp
import SharecastCore
import Testing

/// `security` against a running server: tokens, rate limits, CIDR lists, trusted proxies, body cap.
@Suite struct SecurityTests {
    static let token = "s3cret-token-0123456789"

    @Test func tokensRateLimitsAddressListsAndBodies() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { config in
            config.security.apiTokens = [Self.token, "another-token-abcdefgh"]
            config.security.metricsToken = "metrics-token-0123456789"
            config.security.deny = ["10.9.0.0/16"]
            config.security.trustedProxies = ["127.0.0.1"]
            config.security.apiRatePerMinute = 6
            config.security.apiBurst = 3
            config.security.badKeysPerMinute = 3
            config.security.maxBodyBytes = 1_048_576
        })
        let anonymous = APIClient(port: setup.app.port)
        var authorised = APIClient(port: setup.app.port)
        authorised.token = Self.token

        // Each check from its own (forwarded) address, so the buckets do not mix.
        func from(_ address: String) -> [String: String] { ["X-Forwarded-For": address] }

        let missing = try await anonymous.get("/api/monitor/stats", headers: from("198.51.100.1"))
        #expect(missing.status == 401)
        #expect(missing.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        var wrong = anonymous
        wrong.token = "s3cret-token-0123456780"
        #expect(try await wrong.get("/api/monitor/stats", headers: from("198.51.100.2")).status == 401)
        #expect(try await authorised.get("/api/monitor/stats", headers: from("198.51.100.3")).status == 200)
        #expect(try await anonymous.get("/api/monitor/stats", headers: from("198.51.100.4").merging(["X-API-Key": "another-token-abcdefgh"]) { a, _ in a }).status == 200)

        // A burst of 3, then 429 with Retry-After (the bucket refills one every 10 s, so a few
        // requests in a row find it empty however slow the machine).
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<8 {
            let reply = try await authorised.get("/api/monitor/stats", headers: from("203.0.113.9"))
            statuses.append(reply.status)
            retryAfter = reply.headers["retry-after"] ?? retryAfter
        }
        #expect(Array(statuses.prefix(3)) == [200, 200, 200])
        #expect(statuses.contains(429))
        #expect(retryAfter.flatMap(Int.init).map { $0 >= 1 } == true)

        // A denied network, named by the trusted proxy in front.
        let denied = try await authorised.get("/api/monitor/stats", headers: from("10.9.1.1"))
        #expect(denied.status == 403)
        let deniedStream = try await anonymous.get(setup.path("a"), headers: from("10.9.1.2"))
        #expect(deniedStream.status == 403)
        // The client's own entries left of a trusted hop prove nothing: the rightmost untrusted one counts.
        #expect(try await authorised.get("/api/monitor/stats", headers: from("10.9.1.3, 198.51.100.20")).status == 200)

        // Bodies over the cap are refused before they are read.
        let big = Data(repeating: UInt8(ascii: "a"), count: 10 * 1024 * 1024)
        let refused = try await authorised.call("POST", "/api/monitor/streams/test", body: big, headers: from("198.51.100.30"))
        #expect(refused.status == 413)

        // /metrics has its own token.
        #expect(try await anonymous.get("/metrics").status == 401)
        var scraper = anonymous
        scraper.token = "metrics-token-0123456789"
        #expect(try await scraper.get("/metrics").status == 200)

        // Repeated unknown stream keys from one address: 404s, then 429.
        var keyStatuses: [Int] = []
        for index in 0..<5 {
            keyStatuses.append(try await anonymous.get("/stream/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\(index)", headers: from("198.51.100.40")).status)
        }
        #expect(keyStatuses == [404, 404, 404, 429, 429])
        // Other addresses are not affected.
        #expect(try await anonymous.get("/stream/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", headers: from("198.51.100.41")).status == 404)
    }

    @Test func forwardedForIsIgnoredFromAnUntrustedPeer() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { config in
            config.security.deny = ["10.9.0.0/16"]
        })
        let api = APIClient(port: setup.app.port)
        // No trusted proxies: the header is the client's claim and changes nothing.
        #expect(try await api.get("/api/monitor/stats", headers: ["X-Forwarded-For": "10.9.1.1"]).status == 200)
        // Without tokens, reading is open and changing needs loopback (which this is).
        #expect(try await api.post("/api/monitor/cleanup").status == 200)
    }

    @Test func withoutTokensOnlyLoopbackMayChangeThings() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { config in
            config.security.trustedProxies = ["127.0.0.1"]
        })
        let api = APIClient(port: setup.app.port)
        let remote = ["X-Forwarded-For": "198.51.100.50"]
        #expect(try await api.get("/api/monitor/stats", headers: remote).status == 200)
        let refused = try await api.call("POST", "/api/monitor/cleanup", headers: remote)
        #expect(refused.status == 403)
        #expect(try await api.post("/api/monitor/cleanup").status == 200)
    }
}
