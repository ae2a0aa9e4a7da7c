import Foundation
import GRDB
import SharecastApp
import SharecastCore
import SharecastStore
import Logging
import Testing

/// `/api/monitor` against a running server with real sessions and viewers.
@Suite struct MonitorAPITests {
    static func aIDFromList(_ reply: APIClient.Reply, _ channel: String) -> String {
        streams(reply)[channel]?["id"] as? String ?? "missing"
    }

    static func streams(_ reply: APIClient.Reply) -> [String: [String: Any]] {
        Dictionary(reply.list.compactMap { stream in (stream["channel_id"] as? String).map { ($0, stream) } }, uniquingKeysWith: { a, _ in a })
    }

    @Test func everyEndpointWithSessionsRunning() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { config in
            config.security.probePrivateNetworks = true
        })
        let api = APIClient(port: setup.app.port)
        let a1 = try setup.viewer("a"), a2 = try setup.viewer("a"), b1 = try setup.viewer("b")
        try await waitUntil { a1.bodyCount > 10_000 && a2.bodyCount > 10_000 && b1.bodyCount > 10_000 }

        let stats = try await api.get("/api/monitor/stats")
        #expect(stats.status == 200)
        #expect(stats.data["clients"] as? Int == 3)
        #expect((stats.data["streams"] as? [String: Any])?["running"] as? Int == 2)

        let realtime = try await api.get("/api/monitor/realtime")
        #expect(realtime.status == 200)
        let live = (realtime.data["streams"] as? [[String: Any]]) ?? []
        #expect(live.map { $0["channel_id"] as? String } == ["a", "b"])
        let aClients = live.first?["clients"] as? [[String: Any]] ?? []
        #expect(aClients.count == 2)
        #expect(aClients.map { $0["ip"] as? String } == ["127.0.0.1", "127.0.0.1"])
        #expect(aClients.map { $0["user_agent"] as? String } == ["viewer-test", "viewer-test"])
        #expect(live.first?["source_url"] as? String == "http://127.0.0.1:\(setup.origin.port)/a.ts")
        let system = realtime.data["system"] as? [String: Any] ?? [:]
        #expect((system["max_file_descriptors"] as? Int ?? 0) > 0)

        let dashboard = try await api.get("/api/monitor/dashboard")
        #expect(dashboard.status == 200)
        #expect((dashboard.data["top_streams"] as? [[String: Any]])?.first?["channel_id"] as? String == "a")
        #expect(((dashboard.data["system_health"] as? [String: Any])?["checks"] as? [[String: Any]])?.count == 5)
        #expect((dashboard.data["recent_alerts"] as? [Any])?.isEmpty == true)

        let health = try await api.get("/api/monitor/health")
        #expect(health.status == 200)
        #expect(["healthy", "degraded"].contains(health.data["status"] as? String))
        #expect(((health.data["checks"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
            == ["database", "buffer_disk", "memory", "file_descriptors", "upstream_sessions"])

        let listed = try await api.get("/api/monitor/streams?status=active")
        #expect(Set(Self.streams(listed).keys) == ["a", "b"])
        #expect(try await api.get("/api/monitor/streams?status=bogus").status == 400)
        // limit cuts the list; a bad one, or a repeated parameter, is refused rather than ignored.
        #expect(try await api.get("/api/monitor/streams?limit=1").list.count == 1)
        for bad in ["limit=0", "limit=1001", "limit=two", "limit=1&limit=2", "status=active&status=idle"] {
            let reply = try await api.get("/api/monitor/streams?\(bad)")
            #expect(reply.status == 400, "\(bad)")
        }
        let twice = try await api.get("/api/monitor/performance?period=1h&period=24h")
        #expect(twice.status == 400 && String(decoding: twice.body, as: UTF8.self).contains("period is given more than once"))
        // Ids read the same in the API and in the database.
        func stored() throws -> [String] { try setup.app.database.pool.read { db in try String.fetchAll(db, sql: "SELECT session_id FROM shared_streams") } }
        try await waitUntil { try stored().count >= 2 }
        #expect(try stored().allSatisfy { $0 == $0.lowercased() })
        #expect(Set(try stored()).isSuperset(of: [Self.aIDFromList(listed, "a"), Self.aIDFromList(listed, "b")]))

        // One stream with its viewers.
        let aID = try #require(Self.streams(listed)["a"]?["id"] as? String)
        let bID = try #require(Self.streams(listed)["b"]?["id"] as? String)
        let detail = try await api.get("/api/monitor/streams/\(aID)")
        #expect(detail.status == 200)
        #expect((detail.data["clients"] as? [[String: Any]])?.count == 2)
        #expect(try await api.get("/api/monitor/streams/\(UUID().uuidString)").status == 404)
        let notAnID = try await api.get("/api/monitor/streams/not-a-uuid")
        #expect(notAnID.status == 404)

        // Kick one viewer of a: it is disconnected, the other stays.
        let kickedID = try #require((detail.data["clients"] as? [[String: Any]])?.first?["id"] as? String)
        let kick = try await api.delete("/api/monitor/streams/\(aID)/clients/\(kickedID)")
        #expect(kick.status == 200)
        #expect(kick.data["action"] as? String == "kicked")
        try await waitUntil { a1.ended || a2.ended }
        try await waitUntil { setup.stream("a")?.clientCount == 1 }
        #expect(try await api.delete("/api/monitor/streams/\(aID)/clients/\(kickedID)").status == 404)

        // Restart b: one more upstream connection, its viewer carries on.
        let servedBefore = setup.origin.counts.connectionsServed
        let restart = try await api.post("/api/monitor/streams/\(bID)/restart")
        #expect(restart.status == 202)
        try await waitUntil { setup.origin.counts.connectionsServed == servedBefore + 1 }
        let bBytes = b1.bodyCount
        try await waitUntil { b1.bodyCount > bBytes + 20_000 }
        #expect(!b1.ended)
        #expect(setup.stream("b")?.restartCount == 1)

        // Stop a: its last viewer is closed, the stream shows as stopped in history.
        let stop = try await api.delete("/api/monitor/streams/\(aID)")
        #expect(stop.status == 200)
        #expect(stop.data["clients_closed"] as? Int == 1)
        try await waitUntil { a1.ended && a2.ended }
        #expect(try await api.delete("/api/monitor/streams/\(aID)").status == 409)
        try await waitUntil(timeout: .seconds(5)) {
            let database = try SharecastDatabase(path: setup.config.database.path)
            return try database.streams(status: .stopped).contains { $0.sessionId?.lowercased() == aID }
        }
        let stopped = try await api.get("/api/monitor/streams?status=stopped")
        #expect(Self.streams(stopped)["a"]?["live"] as? Bool == false)
        let history = try await api.get("/api/monitor/streams/\(aID)")
        let reasons = (history.data["clients"] as? [[String: Any]] ?? []).compactMap { $0["disconnect_reason"] as? String }.sorted()
        #expect(reasons == ["kicked", "kicked"])

        // Probe the origin without starting a session.
        let sessionsBefore = setup.app.sessions.sessionCount
        let probe = try await api.post("/api/monitor/streams/test", json: #"{"url": "http://127.0.0.1:\#(setup.origin.port)/probe.ts"}"#)
        #expect(probe.status == 200)
        #expect(probe.data["reachable"] as? Bool == true)
        #expect(probe.data["http_status"] as? Int == 200)
        #expect(probe.data["format"] as? String == "ts")
        #expect((probe.data["ts_packets"] as? Int ?? 0) > 100)
        #expect(probe.data["continuity_errors"] as? Int == 0)
        #expect((probe.data["measured_kbps"] as? Double ?? 0) > 0)
        #expect(setup.app.sessions.sessionCount == sessionsBefore)
        let missing = try await api.post("/api/monitor/streams/test", json: "{}")
        #expect(missing.status == 400 && missing.errorMessage == "field url is required")
        let wrongType = try await api.post("/api/monitor/streams/test", json: #"{"url": 5}"#)
        #expect(wrongType.status == 400 && wrongType.errorMessage == "field url must be a string")
        #expect(try await api.post("/api/monitor/streams/test", json: "{nope").status == 400)
        #expect(try await api.post("/api/monitor/streams/test", json: #"{"url": "ftp://x/y"}"#).status == 400)
        // Longer than the schema's maxLength (schemathesis found it accepted).
        let long = "http://x/" + String(repeating: "a", count: 2048)
        #expect(try await api.post("/api/monitor/streams/test", json: #"{"url": "\#(long)"}"#).status == 400)

        let cleanup = try await api.post("/api/monitor/cleanup")
        #expect(cleanup.status == 200)
        #expect(cleanup.data["sessions_stopped"] as? Int == 0)

        let alerts = try await api.get("/api/monitor/alerts")
        #expect(alerts.status == 200 && alerts.list.isEmpty)
        let document = try await api.get("/api/monitor/openapi.json")
        #expect((document.json as? [String: Any])?["openapi"] as? String == "3.1.0")
    }

    @Test func probingPrivateAddressesIsRefusedByDefault() async throws {
        let setup = try SharedStreamingTests.Setup()
        let api = APIClient(port: setup.app.port)
        let refused = try await api.post("/api/monitor/streams/test", json: #"{"url": "http://127.0.0.1:\#(setup.origin.port)/x.ts"}"#)
        #expect(refused.status == 403)
        #expect(refused.errorCode == "private_address")
        let metadata = try await api.post("/api/monitor/streams/test", json: #"{"url": "http://169.254.169.254/latest/meta-data/"}"#)
        #expect(metadata.status == 403)
        for literal in ["[64:ff9b::7f00:1]", "[::127.0.0.1]", "[::1]", "[::ffff:127.0.0.1]"] {
            let reply = try await api.post("/api/monitor/streams/test", json: #"{"url": "http://\#(literal):\#(setup.origin.port)/x.ts"}"#)
            #expect(reply.status == 403, "\(literal)")
        }
        #expect(setup.origin.counts.connectionsServed == 0)
    }

    @Test func anIPv6LiteralURLIsProbed() async throws {
        let setup = try SharedStreamingTests.Setup(configure: { $0.security.probePrivateNetworks = true })
        var logger = Logger(label: "v6")
        logger.logLevel = .critical
        let origin = try TestOrigin(listen: "::1", port: 0, logger: logger)
        defer { origin.shutdown() }
        let api = APIClient(port: setup.app.port)
        let probe = try await api.post("/api/monitor/streams/test", json: #"{"url": "http://[::1]:\#(origin.port)/probe.ts"}"#)
        #expect(probe.status == 200)
        #expect(probe.data["reachable"] as? Bool == true, "\(probe.data)")
        #expect(probe.data["format"] as? String == "ts")
    }
}

/// `performance` against stats rows placed by hand in known buckets.
@Suite struct PerformanceTests {
    /// Inserts a stream row and its samples: (seconds since epoch, bandwidth bps, clients, error count).
    static func insert(_ database: SharecastDatabase, channel: String, samples: [(Int64, Int64, Int, Int)]) throws -> String {
        let session = UUID().lowercasedString
        try database.pool.write { db in
            var stream = SharedStreamRecord(channelId: channel, sourceUrl: "http://x/", format: .ts, status: .stopped,
                                            startedAt: Date(timeIntervalSince1970: Double(samples[0].0 - 10)))
            stream.sessionId = session
            try stream.insert(db)
            for (time, bandwidth, clients, errors) in samples {
                var row = SharedStreamStatRecord(streamId: stream.id ?? 0, sampledAt: Date(timeIntervalSince1970: Double(time)), clientCount: clients,
                                                 bandwidthBps: bandwidth, bytesIn: 0, bytesOut: 0, bufferFill: 0.5, errorCount: errors)
                try row.insert(db)
            }
        }
        return session
    }

    static func values(_ reply: APIClient.Reply) -> [Double] {
        (reply.data["points"] as? [[String: Any]] ?? []).map { ($0["value"] as? Double) ?? Double($0["value"] as? Int ?? -1) }
    }

    @Test func bucketsMatchAHandComputationForEveryPeriod() async throws {
        let setup = try SharedStreamingTests.Setup()
        let api = APIClient(port: setup.app.port)
        let now = Int64(Date().timeIntervalSince1970)
        let minute = now / 60 * 60, fiveMinutes = now / 300 * 300, quarter = now / 900 * 900, twoHours = now / 7200 * 7200

        // 1h, all streams: two streams in the bucket two minutes back.
        _ = try Self.insert(setup.app.database, channel: "a", samples: [(minute - 120 + 10, 1_000_000, 2, 5), (minute - 120 + 40, 3_000_000, 4, 8)])
        _ = try Self.insert(setup.app.database, channel: "b", samples: [(minute - 120 + 20, 500_000, 1, 0)])
        // Older ones, outside the last hour, each read through `stream=`.
        let six = try Self.insert(setup.app.database, channel: "a", samples: [(fiveMinutes - 6000 + 50, 2_000_000, 1, 10), (fiveMinutes - 6000 + 250, 4_000_000, 3, 15)])
        let day = try Self.insert(setup.app.database, channel: "a", samples: [(quarter - 27_000 + 100, 8_000_000, 10, 0), (quarter - 27_000 + 800, 6_000_000, 20, 4)])
        let week = try Self.insert(setup.app.database, channel: "b", samples: [(twoHours - 288_000 + 100, 1_500, 7, 1), (twoHours - 288_000 + 7000, 2_500, 9, 2)])

        /// The series has `count` buckets, `value` in the one starting at `start`, 0 elsewhere. The
        /// bucket is found by its time, so a clock boundary passing mid-test moves it, not the sums.
        func expectOnly(_ reply: APIClient.Reply, count: Int, bucket start: Int64, _ value: Double, _ label: String) {
            let points = reply.data["points"] as? [[String: Any]] ?? []
            let values = Self.values(reply)
            let formatter = ISO8601DateFormatter()
            let index = points.firstIndex { ($0["t"] as? String).flatMap(formatter.date(from:)).map { Int64($0.timeIntervalSince1970) } == start }
            #expect(values.count == count, "\(label): \(values.count) buckets")
            guard let index else {
                Issue.record("\(label): no bucket starts at \(start)")
                return
            }
            #expect(values[index] == value, "\(label): bucket \(index) is \(values[index])")
            #expect(values.enumerated().allSatisfy { $0.offset == index || $0.element == 0 }, "\(label): other buckets are 0")
        }

        let hour = "/api/monitor/performance?period=1h&metric="
        expectOnly(try await api.get(hour + "bandwidth"), count: 60, bucket: minute - 120, 2500, "1h bandwidth")
        expectOnly(try await api.get(hour + "clients"), count: 60, bucket: minute - 120, 4, "1h clients")
        expectOnly(try await api.get(hour + "streams"), count: 60, bucket: minute - 120, 2, "1h streams")
        expectOnly(try await api.get(hour + "errors"), count: 60, bucket: minute - 120, 3, "1h errors")
        let first = try await api.get(hour + "bandwidth")
        #expect(first.data["bucket_seconds"] as? Int == 60)
        #expect(first.data["unit"] as? String == "kbps")
        // With the clock where the test started, the bucket two minutes back is the 58th of 60.
        if Int64(Date().timeIntervalSince1970) / 60 * 60 == minute {
            #expect(Self.values(first).firstIndex(of: 2500) == 57)
        }

        expectOnly(try await api.get("/api/monitor/performance?period=6h&metric=bandwidth&stream=\(six)"), count: 72, bucket: fiveMinutes - 6000, 3000, "6h bandwidth")
        expectOnly(try await api.get("/api/monitor/performance?period=6h&metric=errors&stream=\(six)"), count: 72, bucket: fiveMinutes - 6000, 5, "6h errors")
        expectOnly(try await api.get("/api/monitor/performance?period=24h&metric=clients&stream=\(day)"), count: 96, bucket: quarter - 27_000, 15, "24h clients")
        expectOnly(try await api.get("/api/monitor/performance?period=24h&metric=bandwidth&stream=\(day)"), count: 96, bucket: quarter - 27_000, 7000, "24h bandwidth")
        expectOnly(try await api.get("/api/monitor/performance?period=7d&metric=bandwidth&stream=\(week)"), count: 84, bucket: twoHours - 288_000, 2, "7d bandwidth")
        expectOnly(try await api.get("/api/monitor/performance?period=7d&metric=clients&stream=\(week)"), count: 84, bucket: twoHours - 288_000, 8, "7d clients")

        #expect(try await api.get("/api/monitor/performance?period=2h").status == 400)
        #expect(try await api.get("/api/monitor/performance?metric=bytes").status == 400)
        #expect(try await api.get("/api/monitor/performance?stream=nope").status == 400)
    }
}

/// Schemathesis generates requests from the OpenAPI document and checks every answer against it.
@Suite struct OpenAPIConformanceTests {
    @Test func schemathesisFindsNoServerErrorsAndNoSchemaViolations() async throws {
        let schemathesis = try Tools.require("schemathesis")
        let setup = try SharedStreamingTests.Setup()
        let viewers = [try setup.viewer("a"), try setup.viewer("a"), try setup.viewer("b")]
        try await waitUntil { viewers.allSatisfy { $0.bodyCount > 10_000 } }
        let base = "http://127.0.0.1:\(setup.app.port)"
        let result = try await ChildProcess.run(schemathesis, [
            "run", "\(base)/api/monitor/openapi.json", "--url", base, "--checks", "all",
            "--max-examples", "25", "--workers", "1", "--seed", "20261126", "--no-color",
        ], environment: ["PYTHONWARNINGS": "ignore"], timeout: .seconds(300))
        let report = result.stdout + result.stderr
        #expect(result.status == 0, "\(report.suffix(4000))")
        #expect(report.contains("Tested: 17"), "every operation was exercised")
        let summary = report.split(separator: "\n").first { $0.contains("generated") && $0.contains("passed") }.map(String.init) ?? "no summary"
        print("schemathesis: \(summary.trimmingCharacters(in: .whitespaces))")
    }
}
