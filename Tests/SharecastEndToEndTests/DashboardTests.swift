import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SharecastCore
import SharecastApp
import Testing

/// The Grafana dashboards: their structure, their sync with the generator, their queries against
/// a real Prometheus scraping a running Sharecast, and their units and thresholds.
@Suite struct DashboardTests {
    static let directory = RuleFilesTests.root + "/grafana/dashboards"
    static let names = ["sharecast-overview.json", "sharecast-stream.json"]

    static func load(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name) is not a JSON object")
    }

    static func panels(_ board: [String: Any]) -> [[String: Any]] {
        (board["panels"] as? [[String: Any]] ?? []).filter { $0["type"] as? String != "row" }
    }

    static func targets(_ panel: [String: Any]) -> [[String: Any]] { panel["targets"] as? [[String: Any]] ?? [] }

    @Test(arguments: names) func hasWhatGrafanaNeeds(_ name: String) throws {
        let board = try Self.load(name)
        #expect((board["schemaVersion"] as? Int ?? 0) >= 36)
        #expect(board["uid"] as? String == name.replacingOccurrences(of: ".json", with: ""))
        #expect((board["__inputs"] as? [[String: Any]])?.first?["pluginId"] as? String == "prometheus")
        #expect((board["__requires"] as? [[String: Any]])?.contains { $0["id"] as? String == "prometheus" } == true)
        let all = board["panels"] as? [[String: Any]] ?? []
        let ids = all.compactMap { $0["id"] as? Int }
        #expect(ids.count == all.count && Set(ids).count == ids.count, "panel ids are unique")
        var cells = Set<String>()
        for panel in all {
            let grid = panel["gridPos"] as? [String: Int] ?? [:]
            let (x, y, w, h) = (grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
            #expect(x >= 0 && w > 0 && h > 0 && x + w <= 24, "\(panel["title"] ?? "?") inside 24 columns")
            for row in y..<(y + h) {
                for column in x..<(x + w) {
                    #expect(cells.insert("\(row),\(column)").inserted, "\(panel["title"] ?? "?") overlaps at \(row),\(column)")
                }
            }
        }
        for panel in Self.panels(board) {
            let title = panel["title"] as? String ?? "?"
            #expect((panel["datasource"] as? [String: String])?["uid"] == "${datasource}", "\(title): datasource through the variable")
            let unit = ((panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?["unit"] as? String
            #expect(unit?.isEmpty == false, "\(title) sets a unit")
            let targets = Self.targets(panel)
            #expect(!targets.isEmpty, "\(title) has queries")
            let refs = targets.compactMap { $0["refId"] as? String }
            #expect(refs.count == targets.count && Set(refs).count == refs.count, "\(title): refIds unique")
            for target in targets {
                #expect((target["datasource"] as? [String: String])?["uid"] == "${datasource}", "\(title): target datasource")
            }
        }
        let variables = (board["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        #expect(variables.first { $0["name"] as? String == "datasource" }?["query"] as? String == "prometheus")
        #expect(variables.contains { $0["name"] as? String == "instance" && $0["includeAll"] as? Bool == true })
        // No data source uid is written anywhere but through the variable.
        let text = try String(contentsOfFile: "\(Self.directory)/\(name)", encoding: .utf8)
        let uids = text.components(separatedBy: "\"uid\": \"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(Set(uids).isSubset(of: ["${datasource}", "sharecast-overview", "sharecast-stream"]), "\(Set(uids))")
    }

    @Test func theCommittedFilesAreTheGeneratorsOutput() async throws {
        let directory = try TemporaryDirectory()
        let result = try await ChildProcess.run(try Tools.require("python3"), ["\(RuleFilesTests.root)/scripts/make-dashboards.py", directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        for name in Self.names {
            let generated = try String(contentsOfFile: "\(directory.path)/\(name)", encoding: .utf8)
            let committed = try String(contentsOfFile: "\(Self.directory)/\(name)", encoding: .utf8)
            #expect(generated == committed, "\(name) is out of date: run make dashboards")
        }
    }

    /// Units follow the metrics: rates of byte counters are bytes/s (bits/s when multiplied by
    /// 8), ratios are percent, seconds are seconds; thresholds equal the alert rules'.
    @Test func unitsAndThresholdsAgreeWithMetricsAndRules() throws {
        let rules = try String(contentsOfFile: "\(RuleFilesTests.root)/alerts/sharecast.rules.yml", encoding: .utf8)
        for name in Self.names {
            for panel in Self.panels(try Self.load(name)) {
                let title = panel["title"] as? String ?? "?"
                let defaults = (panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any] ?? [:]
                let unit = defaults["unit"] as? String ?? ""
                guard panel["type"] as? String != "table" else { continue }
                let exprs = Self.targets(panel).compactMap { $0["expr"] as? String }
                let first = exprs.first ?? ""
                let expected: String
                if first.contains("_bytes_total") && first.contains("rate(") {
                    expected = first.contains("* 8") ? "bps" : "Bps"
                } else if first.contains("rate_bytes_per_second") {
                    expected = "bps"
                } else if first.contains(" / ") || first.contains("_ratio") || first.contains("process_cpu_seconds_total") {
                    expected = "percentunit"
                } else if first.contains("_seconds_bucket") || first.contains("timestamp_seconds") {
                    expected = "s"
                } else if first.contains("ts_packets_total") {
                    expected = "pps"
                } else {
                    expected = "none"
                }
                #expect(unit == expected, "\(name) \(title): unit \(unit), expected \(expected) for \(first)")
            }
        }
        let overview = Self.panels(try Self.load("sharecast-overview.json"))
        func steps(_ title: String) -> [Double] {
            let panel = overview.first { $0["title"] as? String == title } ?? [:]
            let defaults = (panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any] ?? [:]
            return ((defaults["thresholds"] as? [String: Any])?["steps"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? Double }
        }
        #expect(steps("Memory available") == [0.05, 0.15])
        #expect(rules.contains("sharecast_host_memory_total_bytes < 0.15") && rules.contains("sharecast_host_memory_total_bytes < 0.05"))
        #expect(steps("Buffer disk free") == [0.10] && rules.contains("sharecast_buffer_disk_size_bytes < 0.10"))
        #expect(steps("Open files") == [0.80] && rules.contains("process_max_fds > 0.80"))
        #expect(steps("Guide age") == [36 * 3600] && rules.contains("(time() - sharecast_epg_refresh_last_success_timestamp_seconds) > 36 * 3600"))
        // The bandwidth threshold comes from the configuration, not a number in the dashboard.
        let bandwidth = overview.first { $0["title"] as? String == "Bandwidth" } ?? [:]
        #expect(Self.targets(bandwidth).contains { ($0["expr"] as? String)?.contains("sharecast_config_bandwidth_threshold_bytes_per_second") == true })
    }

    /// Grafana's substitutions, for a Prometheus scraping every second.
    static func substitute(_ text: String) -> String {
        text.replacingOccurrences(of: "$__rate_interval", with: "10s").replacingOccurrences(of: "$__range", with: "1m")
            .replacingOccurrences(of: "$__interval", with: "5s").replacingOccurrences(of: "$channel", with: "a")
            .replacingOccurrences(of: "$instance", with: ".*")
    }

    @Test func everyQueryRunsAgainstARealPrometheus() async throws {
        let prometheus = try Tools.require("prometheus")
        // A provider too (the Xtream stand-in), so the provider panels have series.
        let panel = try XtreamOrigin.quiet(logins: [XtreamOrigin.Login(username: "u1", password: "dashboard-pw", maxConnections: 1)],
                                     channels: [XtreamOrigin.Channel(id: 1, name: "Panel One", category: "News", epgID: "panel.one")])
        defer { panel.shutdown() }
        let setup = try SharedStreamingTests.Setup(configure: {
            $0.providers = [ProviderConfig(name: "acme", kind: .xtream, server: panel.baseURL,
                                           accounts: [ProviderAccount(username: "u1", password: Secret("dashboard-pw"))])]
        })
        try await waitUntil { setup.app.catalog.current.channels.contains { $0.channel.source == "acme" } }
        let viewers = [try setup.viewer("a"), try setup.viewer("a"), try setup.viewer("b"), try setup.viewer("acme.panel-one")]
        try await waitUntil { viewers.allSatisfy { $0.bodyCount > 10_000 } }
        let port = try freePort()
        let rules = try RuleFilesTests.files("alerts").map { "\"\($0)\"" }.joined(separator: ", ")
        let config = try setup.directory.write("prometheus.yml", """
            global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
            rule_files: [\(rules)]
            scrape_configs:
              - job_name: sharecast
                static_configs: [{targets: ["127.0.0.1:\(setup.app.port)"]}]
            """)
        let server = try ChildProcess(prometheus, [
            "--config.file=\(config)", "--storage.tsdb.path=\(setup.directory.file("tsdb"))",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ])
        defer { server.signal(SIGTERM) }
        let api = "http://127.0.0.1:\(port)/api/v1"
        func get(_ path: String, _ items: [URLQueryItem]) async throws -> [String: Any] {
            var components = URLComponents(string: api + path)!
            components.queryItems = items
            guard let (data, _) = try? await URLSession.shared.data(from: components.url!) else { return [:] }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        }
        // Fifteen seconds of scrapes, so rates have samples in their windows.
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let up = try await get("/query", [URLQueryItem(name: "query", value: "up == 1")])
            if ((up["data"] as? [String: Any])?["result"] as? [Any])?.isEmpty == false { break }
            guard ContinuousClock.now < deadline else { Issue.record("Prometheus never scraped Sharecast: \(server.stderr)"); return }
            try await Task.sleep(for: .milliseconds(250))
        }
        try await Task.sleep(for: .seconds(15))

        var queries = 0
        for name in Self.names {
            let board = try Self.load(name)
            for variable in (board["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] where variable["type"] as? String == "query" {
                let definition = variable["definition"] as? String ?? ""
                // label_values(selector, label) is what Grafana asks of /api/v1/label/<label>/values.
                let inner = definition.dropFirst("label_values(".count).dropLast()
                let comma = try #require(inner.lastIndex(of: ","))
                let selector = Self.substitute(String(inner[..<comma])), label = inner[inner.index(after: comma)...].trimmingCharacters(in: .whitespaces)
                let reply = try await get("/label/\(label)/values", [URLQueryItem(name: "match[]", value: selector)])
                #expect(reply["status"] as? String == "success", "\(name) variable \(variable["name"] ?? ""): \(reply)")
                #expect((reply["data"] as? [String])?.isEmpty == false, "\(name) variable \(variable["name"] ?? "") has values")
                queries += 1
            }
            for panel in Self.panels(board) {
                let title = panel["title"] as? String ?? "?"
                let mayBeEmpty = title.lowercased().contains("alert")
                for target in Self.targets(panel) {
                    let expr = Self.substitute(target["expr"] as? String ?? "")
                    let reply = try await get("/query", [URLQueryItem(name: "query", value: expr)])
                    #expect(reply["status"] as? String == "success", "\(name) \(title): \(expr): \(reply["error"] ?? reply)")
                    let result = (reply["data"] as? [String: Any])?["result"] as? [Any] ?? []
                    #expect(mayBeEmpty || !result.isEmpty, "\(name) \(title): \(expr) returned nothing")
                    queries += 1
                }
            }
        }
        print("dashboards: \(queries) panel and variable queries answered by Prometheus")
        #expect(queries > 40)

        // A stopped channel leaves the "Live streams" table (it was listed at 0 viewers).
        viewers[2].close()
        try await waitUntil(timeout: .seconds(10)) { setup.stream("b") == nil }
        let stopped = #"sharecast_stream_started_timestamp_seconds{channel="b"} == 0"#
        let gone = ContinuousClock.now + .seconds(20)
        while ((try await get("/query", [URLQueryItem(name: "query", value: stopped)])["data"] as? [String: Any])?["result"] as? [Any])?.isEmpty != false {
            guard ContinuousClock.now < gone else { Issue.record("Prometheus never saw channel b stop"); return }
            try await Task.sleep(for: .milliseconds(250))
        }
        let overview = try Self.load("sharecast-overview.json")
        let live = try #require(Self.panels(overview).first { $0["title"] as? String == "Live streams" })
        for target in Self.targets(live) {
            let expr = Self.substitute(target["expr"] as? String ?? "")
            let reply = try await get("/query", [URLQueryItem(name: "query", value: expr)])
            let series = (reply["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
            let channels = series.compactMap { ($0["metric"] as? [String: String])?["channel"] }
            #expect(channels.contains("a") && !channels.contains("b"), "\(expr): \(channels)")
        }
    }
}
