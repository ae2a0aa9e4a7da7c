import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SharecastApp
import SharecastCore
import SharecastHTTP
import SharecastTS
import Testing

/// `/metrics` checked by Prometheus's own tools: promtool's linter, the reference OpenMetrics
/// parser, and a real Prometheus scraping Sharecast.
@Suite struct MetricsTests {
    static func scrape(_ port: Int, accept: String? = nil) async throws -> (body: String, contentType: String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return (String(decoding: data, as: UTF8.self), (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type"))
    }

    /// `promtool check metrics` on the 0.0.4 text: nothing to report, with a session running and
    /// after it stopped.
    static func lint(_ text: String, in directory: TemporaryDirectory) async throws -> String {
        let promtool = try Tools.require("promtool")
        let file = try directory.write("scrape-\(UUID().uuidString).txt", text)
        let result = try await ChildProcess.run("/bin/sh", ["-c", "\(promtool) check metrics < \(file)"])
        return result.stdout + result.stderr
    }

    @Test func promtoolFindsNothingWithSessionsRunningAndStopped() async throws {
        let setup = try SharedStreamingTests.Setup()
        let viewer = try setup.viewer("a")
        try await waitUntil { viewer.bodyCount > 20_000 }
        let running = try await Self.scrape(setup.app.port)
        #expect(running.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(running.body.contains(#"sharecast_stream_clients{channel="a"} 1"#))
        #expect(running.body.contains(#"sharecast_streams{state="active"} 1"#))
        #expect(!running.body.contains(#"sharecast_stream_started_timestamp_seconds{channel="a"} 0"#))
        #expect(try await Self.lint(running.body, in: setup.directory) == "")

        viewer.close()
        try await waitUntil(timeout: .seconds(5)) { setup.app.sessions.snapshots().isEmpty }
        let stopped = try await Self.scrape(setup.app.port)
        #expect(stopped.body.contains(#"sharecast_stream_clients{channel="a"} 0"#))
        #expect(stopped.body.contains(#"sharecast_stream_up{channel="a"} 0"#))
        // Counters keep their values after the session stopped.
        let sent = stopped.body.split(separator: "\n").first { $0.hasPrefix(#"sharecast_stream_sent_bytes_total{channel="a"}"#) }
        #expect(sent.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 > 20_000 } == true)
        #expect(stopped.body.contains(#"sharecast_stream_started_timestamp_seconds{channel="a"} 0"#))
        #expect(stopped.body.contains(#"sharecast_stream_last_data_timestamp_seconds{channel="a"} 0"#))
        #expect(stopped.body.contains(#"sharecast_streams{state="active"} 0"#))
        #expect(try await Self.lint(stopped.body, in: setup.directory) == "")

        // A new session of the channel publishes its own gauges.
        let next = try setup.viewer("a")
        try await waitUntil { next.bodyCount > 20_000 }
        let again = try await Self.scrape(setup.app.port)
        #expect(again.body.contains(#"sharecast_stream_clients{channel="a"} 1"#))
        #expect(again.body.contains(#"sharecast_stream_up{channel="a"} 1"#))
        next.close()
    }

    @Test func theReferenceParserReadsTheOpenMetricsScrape() async throws {
        let setup = try SharedStreamingTests.Setup()
        let viewer = try setup.viewer("a")
        try await waitUntil { viewer.bodyCount > 20_000 }
        let scrape = try await Self.scrape(setup.app.port, accept: "application/openmetrics-text;version=1.0.0")
        #expect(scrape.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(scrape.body.hasSuffix("# EOF\n"))
        let file = try setup.directory.write("scrape.om", scrape.body)
        let script = """
        import json, sys
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
        families = {f.name: {"type": f.type, "unit": f.unit, "samples": len(f.samples)}
                    for f in text_string_to_metric_families(open(sys.argv[1]).read())}
        print(json.dumps(families))
        """
        let result = try await ChildProcess.run(try Tools.require("python3"), ["-c", script, file])
        #expect(result.status == 0, "\(result.stderr)")
        let families = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [String: Any]] ?? [:]
        func check(_ name: String, _ type: String, _ unit: String = "") {
            #expect(families[name]?["type"] as? String == type, "\(name): \(String(describing: families[name]))")
            #expect(families[name]?["unit"] as? String == unit, "\(name) unit")
        }
        check("sharecast_build", "info")
        check("sharecast_stream_sent_bytes", "counter", "bytes")
        check("sharecast_stream_upstream_received_bytes", "counter", "bytes")
        check("sharecast_stream_clients", "gauge")
        check("sharecast_stream_buffer_fill_ratio", "gauge", "ratio")
        check("sharecast_client_join_latency_seconds", "histogram", "seconds")
        check("sharecast_clients_disconnected", "counter")
        check("sharecast_stream_ts_continuity_errors", "counter")
        check("process_cpu_seconds", "counter", "seconds")
        check("process_resident_memory_bytes", "gauge", "bytes")
        check("sharecast_streams", "gauge")
        check("sharecast_http_requests", "counter")
    }

    @Test func aDamagedUpstreamIsCountedExactly() async throws {
        // The clip with three packets removed (two video, one PMT) and junk between two packets,
        // served once; the back-off keeps a second fetch out of the test's window.
        let clip = try #require(TSClip.testPattern)
        var packets = stride(from: 0, to: clip.bytes.count, by: 188).map { Array(clip.bytes[$0..<($0 + 188)]) }
        let pidOf = { (packet: [UInt8]) in packet.withUnsafeBytes { TSPacket.pid($0) } }
        let video = packets.indices.filter { pidOf(packets[$0]) == 256 }
        let pmt = packets.indices.filter { pidOf(packets[$0]) == 4096 }
        let removed = Set([video[100], video[700], pmt[20]])
        packets = packets.indices.filter { !removed.contains($0) }.map { packets[$0] }
        var damaged: [UInt8] = []
        for (index, packet) in packets.enumerated() {
            damaged += packet
            if index == 400 { damaged += [0x00, 0x47, 0x12, 0x47, 0x99] }
        }
        var router = Router()
        let body = damaged
        router.get("/damaged.ts") { _ in HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .bytes(body)) }
        let upstream = try HTTPServer(configuration: .init(listen: "127.0.0.1", port: 0), router: router, logger: Logger(label: "t"))
        defer { upstream.shutdown() }

        let setup = try SharedStreamingTests.Setup(channels: { _ in
            [ChannelDefinition(id: "a", name: "A", urls: ["http://127.0.0.1:\(upstream.port)/damaged.ts"])]
        }, configure: { $0.sharedStreaming.upstream.backoffInitialMs = 20_000; $0.sharedStreaming.upstream.backoffMaxMs = 20_000 })
        let viewer = try setup.viewer("a")
        try await waitUntil { (setup.stream("a")?.errorCount ?? 0) >= 1 }
        _ = viewer
        let scrape = try await Self.scrape(setup.app.port)
        func value(_ series: String) -> Double? {
            scrape.body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        #expect(value(#"sharecast_stream_ts_continuity_errors_total{channel="a"}"#) == 3)
        #expect(value(#"sharecast_stream_ts_sync_losses_total{channel="a"}"#) == 1)
        #expect(value(#"sharecast_stream_ts_packets_total{channel="a"}"#) == Double(packets.count))
        #expect(value(#"sharecast_stream_upstream_errors_total{channel="a",reason="eof"}"#) == 1)
        #expect(value(#"sharecast_stream_upstream_received_bytes_total{channel="a"}"#) == Double(damaged.count))
    }

    /// A real Prometheus (Debian's) scrapes Sharecast: it negotiates OpenMetrics, finds the target
    /// up with no parse errors, and its queries agree with what the test's viewers saw.
    @Test func aRealPrometheusScrapesAndAgreesWithTheViewers() async throws {
        let prometheus = try Tools.require("prometheus")
        let setup = try SharedStreamingTests.Setup()
        let viewers = try (0..<3).map { _ in try setup.viewer("a") }
        try await waitUntil { viewers.allSatisfy { $0.bodyCount > 10_000 } }

        let port = try freePort()
        // The shipped alert rules, loaded unchanged.
        let rules = try RuleFilesTests.files("alerts").map { "\"\($0)\"" }.joined(separator: ", ")
        let config = try setup.directory.write("prometheus.yml", """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files: [\(rules)]
        scrape_configs:
          - job_name: sharecast
            static_configs:
              - targets: ["127.0.0.1:\(setup.app.port)"]
        """)
        let server = try ChildProcess(prometheus, [
            "--config.file=\(config)", "--storage.tsdb.path=\(setup.directory.file("tsdb"))",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ])
        defer { server.signal(SIGTERM) }
        let api = "http://127.0.0.1:\(port)/api/v1"

        func query(_ promql: String) async throws -> Double? {
            var components = URLComponents(string: "\(api)/query")!
            components.queryItems = [URLQueryItem(name: "query", value: promql)]
            guard let (data, _) = try? await URLSession.shared.data(from: components.url!) else { return nil }
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let result = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first
            return ((result?["value"] as? [Any])?.last as? String).flatMap(Double.init)
        }

        let deadline = ContinuousClock.now + .seconds(30)
        while try await query("up{job=\"sharecast\"}") != 1 {
            guard ContinuousClock.now < deadline else {
                Issue.record("Prometheus never saw the target up:\n\(server.stderr)")
                return
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        // Give the first scrapes that saw the viewers time to land.
        try await Task.sleep(for: .seconds(2))
        let (targets, _) = try await URLSession.shared.data(from: URL(string: "\(api)/targets")!)
        let active = ((try JSONSerialization.jsonObject(with: targets) as? [String: Any])?["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]]
        #expect(active?.first?["health"] as? String == "up")
        #expect(active?.first?["lastError"] as? String == "")
        #expect(try await query("sharecast_stream_clients{channel=\"a\"}") == 3)
        // Prometheus's own counters of rejected samples (out of order, duplicates, out of bounds).
        let (own, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        let rejected = String(decoding: own, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("prometheus_target_scrapes_sample_") || $0.hasPrefix("prometheus_target_scrapes_exceeded") }
        #expect(!rejected.isEmpty)
        #expect(rejected.allSatisfy { $0.hasSuffix(" 0") }, "\(rejected)")

        // Prometheus loaded every group of alerts/ and evaluates its rules without errors.
        let (rulesData, _) = try await URLSession.shared.data(from: URL(string: "\(api)/rules")!)
        let groups = ((try JSONSerialization.jsonObject(with: rulesData) as? [String: Any])?["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        #expect(Set(groups.compactMap { $0["name"] as? String }) == ["sharecast.recording", "sharecast.alerts", "sharecast.providers", "sharecast.guide"])
        let loadedRules = groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        #expect(loadedRules.count == 25)
        #expect(loadedRules.allSatisfy { ($0["health"] as? String) != "err" }, "\(loadedRules.filter { ($0["health"] as? String) == "err" })")
        #expect(try await query("sharecast:clients:sum") == 3)

        // Let 30 s of scrapes pile up, measuring what the viewers receive meanwhile.
        let before = viewers.map(\.bodyCount)
        let started = Date()
        try await Task.sleep(for: .seconds(31))
        let received = Double(zip(viewers.map(\.bodyCount), before).map { $0 - $1 }.reduce(0, +)) / Date().timeIntervalSince(started)
        let rate = try #require(try await query("rate(sharecast_stream_sent_bytes_total{channel=\"a\"}[30s])"))
        #expect(abs(rate - received) / received < 0.10, "Prometheus rate \(rate) B/s, viewers received \(received) B/s")
        for viewer in viewers { viewer.close() }
    }
}

/// A free TCP port on the loopback, for servers that cannot bind port 0 and report it.
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}
