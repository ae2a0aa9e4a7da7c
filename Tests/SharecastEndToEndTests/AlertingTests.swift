import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SharecastApp
import SharecastCore
import Testing

/// The shipped rules evaluated by Sharecast itself, end to end: an upstream dies while viewers
/// watch, the unhealthy alert goes pending then firing, shows in both APIs and in a real
/// Alertmanager, and resolves when the upstream is back.
@Suite struct AlertingTests {
    static func json(_ reply: APIClient.Reply) -> [String: Any] { reply.json as? [String: Any] ?? [:] }

    static func alerts(_ api: APIClient) async throws -> [[String: Any]] {
        let reply = try await api.get("/api/v1/alerts")
        return (json(reply)["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
    }

    static func unhealthy(_ alerts: [[String: Any]]) -> [String: Any]? {
        alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "SharecastStreamUnhealthy" }
    }

    @Test func aDeadUpstreamFiresThenResolvesHereAndInAlertmanager() async throws {
        let alertmanager = try Tools.require("prometheus-alertmanager")
        let directory = try TemporaryDirectory()
        let amPort = try freePort()
        let amConfig = try directory.write("alertmanager.yml", """
            route:
              receiver: nobody
              group_wait: 1s
              group_interval: 1s
            receivers:
              - name: nobody
            """)
        let am = try ChildProcess(alertmanager, [
            "--config.file=\(amConfig)", "--storage.path=\(directory.file("am"))",
            "--web.listen-address=127.0.0.1:\(amPort)", "--cluster.listen-address=", "--log.level=warn",
        ])
        defer { am.signal(SIGTERM) }
        let amAPI = "http://127.0.0.1:\(amPort)/api/v2/alerts"
        func amAlerts() async -> [[String: Any]] {
            guard let (data, _) = try? await URLSession.shared.data(from: URL(string: amAPI)!) else { return [] }
            return (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
        }
        try await waitUntil(timeout: .seconds(20)) {
            (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(amPort)/-/ready")!)) != nil
        }

        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] != nil ? .info : .critical
        let originPort = try freePort()
        var origin: TestOrigin? = try TestOrigin(port: originPort, logger: logger)
        let setup = try SharedStreamingTests.Setup(configure: { config in
            config.channels = [ChannelDefinition(id: "news", name: "News", urls: ["http://127.0.0.1:\(originPort)/news.ts"])]
            config.sharedStreaming.upstream.maxAttempts = 1000
            config.sharedStreaming.upstream.backoffMaxMs = 300
            config.sharedStreaming.upstream.stallTimeout = 2
            config.alerting.ruleFiles = [RuleFilesTests.root + "/alerts/*.yml"]
            config.alerting.evaluationInterval = 1
            config.alerting.resendDelay = 1
            config.alerting.alertmanagers = ["http://127.0.0.1:\(amPort)"]
        })
        let api = APIClient(port: setup.app.port)
        let viewer = try setup.viewer("news")
        try await waitUntil { viewer.bodyCount > 10_000 }
        // While the stream was still connecting it may have been pending for a moment; not now.
        var quiet = false
        for _ in 0..<50 where !quiet {
            quiet = Self.unhealthy(try await Self.alerts(api)) == nil
            if !quiet { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(quiet)

        // The upstream dies; the viewer stays connected, waiting.
        origin?.shutdown()
        origin = nil
        var sawPending = false
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let state = Self.unhealthy(try await Self.alerts(api))?["state"] as? String
            if state == "pending" { sawPending = true }
            if state == "firing" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(sawPending, "the alert went pending before firing")
        let firing = try #require(Self.unhealthy(try await Self.alerts(api)))
        #expect(firing["state"] as? String == "firing")
        #expect((firing["labels"] as? [String: String])?["channel"] == "news")
        #expect((firing["labels"] as? [String: String])?["severity"] == "error")
        #expect(!viewer.ended)

        let monitor = try await api.get("/api/monitor/alerts")
        let seed = monitor.list.first { $0["type"] as? String == "SharecastStreamUnhealthy" }
        #expect(seed?["level"] as? String == "error")
        #expect(seed?["stream"] as? String == "news")
        #expect(seed?["message"] as? String == "Stream news is not delivering")

        // Alertmanager has it.
        var inAlertmanager: [String: Any]?
        let amDeadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < amDeadline {
            inAlertmanager = await amAlerts().first { ($0["labels"] as? [String: String])?["alertname"] == "SharecastStreamUnhealthy" }
            if inAlertmanager != nil { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect((inAlertmanager?["labels"] as? [String: String])?["channel"] == "news")
        #expect((inAlertmanager?["annotations"] as? [String: String])?["summary"] == "Stream news is not delivering")
        #expect((inAlertmanager?["generatorURL"] as? String)?.hasSuffix("/api/v1/alerts") == true)

        // The upstream comes back on the same port: the alert resolves here and in Alertmanager.
        origin = try TestOrigin(port: originPort, logger: logger)
        defer { origin?.shutdown() }
        try await waitUntil(timeout: .seconds(30)) { viewer.bodyCount > 0 && setup.stream("news")?.status == .active }
        var resolvedHere = false, resolvedThere = false
        let resolveDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < resolveDeadline, !(resolvedHere && resolvedThere) {
            resolvedHere = Self.unhealthy(try await Self.alerts(api)) == nil
            resolvedThere = await amAlerts().first { ($0["labels"] as? [String: String])?["alertname"] == "SharecastStreamUnhealthy" } == nil
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(resolvedHere, "resolved in /api/v1/alerts")
        #expect(resolvedThere, "resolved in Alertmanager")
        // (SharecastStreamRestartingOften may fire now: the outage cost many reconnects.)
        #expect(!(try await api.get("/api/monitor/alerts").list.contains { $0["type"] as? String == "SharecastStreamUnhealthy" }))

        // /api/v1/rules shows the loaded groups, healthy.
        let rules = Self.json(try await api.get("/api/v1/rules"))
        let groups = (rules["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        #expect(groups.map { $0["name"] as? String } == ["sharecast.recording", "sharecast.alerts", "sharecast.providers", "sharecast.guide"])
        viewer.close()
    }

    @Test func aBadRuleFileOnReloadLeavesTheRunningRules() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("rules.yml", """
            groups:
              - name: mine
                rules:
                  - record: sharecast:up
                    expr: vector(1)
            """)
        let setup = try SharedStreamingTests.Setup(configure: { config in
            config.alerting.ruleFiles = [file]
            config.alerting.evaluationInterval = 1
        })
        let api = APIClient(port: setup.app.port)
        func ruleNames() async throws -> [String] {
            let groups = ((Self.json(try await api.get("/api/v1/rules"))["data"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? []
            return groups.flatMap { ($0["rules"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
        }
        #expect(try await ruleNames() == ["sharecast:up"])
        try directory.write("rules.yml", "groups:\n  - name: mine\n    rules:\n      - record: broken\n        expr: rate(x[5m]\n")
        let refused = try await api.post("/-/reload")
        #expect(refused.status == 500)
        #expect(refused.errorMessage?.contains("rules.yml:5:15") == true, "\(refused.errorMessage ?? "")")
        #expect(try await ruleNames() == ["sharecast:up"])
        try directory.write("rules.yml", "groups:\n  - name: mine\n    rules:\n      - record: sharecast:two\n        expr: vector(2)\n")
        #expect(try await api.post("/-/reload").status == 200)
        #expect(try await ruleNames() == ["sharecast:two"])
    }
}
