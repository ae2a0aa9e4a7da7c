import Foundation
import SharecastCore
import SharecastHTTP
import SharecastMetrics
import SharecastStore
import SharecastStreaming
import SharecastUpstream

/// The JSON monitoring API under `/api/monitor`, on the live sessions and the SQLite history.
///
/// Stream ids are the sessions' UUIDs, the same live and in history. Every success puts its
/// payload under `data`; errors are `{"error":{"code","message"}}`. Handlers never block a server
/// thread on the network: the URL probe answers through a deferred body.
public struct MonitorAPI: Sendable {
    public let context: MonitorContext
    /// Whether a route changes something (stop, restart, kick, cleanup, probe), for the access rules.
    public enum Access: Sendable { case read, write }

    public init(context: MonitorContext) {
        self.context = context
    }

    /// Every route with its method, pattern, name and access class.
    public var routes: [(method: String, pattern: String, name: String, access: Access, handler: Router.Handler)] {
        let api = self
        return Self.table(api).map { route in
            let handler = route.handler
            // `period=1h&period=24h` has no one meaning: refused rather than silently the first.
            return (route.method, route.pattern, route.name, route.access, { request in
                if let name = request.repeatedQueryNames.first {
                    return .error(status: 400, code: "invalid_parameter", message: "query parameter \(name) is given more than once")
                }
                return handler(request)
            })
        }
    }

    static func table(_ api: MonitorAPI) -> [(method: String, pattern: String, name: String, access: Access, handler: Router.Handler)] {
        [
            ("GET", "/api/monitor/stats", "api_stats", .read, { _ in api.stats() }),
            ("GET", "/api/monitor/realtime", "api_realtime", .read, { _ in api.realtime() }),
            ("GET", "/api/monitor/dashboard", "api_dashboard", .read, { _ in api.dashboard() }),
            ("GET", "/api/monitor/performance", "api_performance", .read, { api.performance($0) }),
            ("GET", "/api/monitor/health", "api_health", .read, { _ in api.health() }),
            ("GET", "/api/monitor/alerts", "api_alerts", .read, { _ in MonitorJSON.ok(api.context.alerts()) }),
            ("GET", "/api/monitor/openapi.json", "api_openapi", .read, { _ in OpenAPIDocument.response() }),
            ("GET", "/api/monitor/streams", "api_streams", .read, { api.streams($0) }),
            ("POST", "/api/monitor/streams/test", "api_stream_test", .write, { api.testStream($0) }),
            ("GET", "/api/monitor/streams/:id", "api_stream", .read, { api.stream($0) }),
            ("DELETE", "/api/monitor/streams/:id", "api_stream_stop", .write, { api.stopStream($0) }),
            ("POST", "/api/monitor/streams/:id/restart", "api_stream_restart", .write, { api.restartStream($0) }),
            ("DELETE", "/api/monitor/streams/:id/clients/:client", "api_client_kick", .write, { api.kickClient($0) }),
            ("POST", "/api/monitor/cleanup", "api_cleanup", .write, { _ in api.cleanup() }),
            ("GET", "/api/monitor/providers", "api_providers", .read, { _ in MonitorJSON.ok(api.context.providers()) }),
            ("POST", "/api/monitor/providers/:name/refresh", "api_provider_refresh", .write, { request in
                refresh(request, "provider", api.context.refreshProvider) { ProviderAction(provider: $0, action: "refresh_requested") }
            }),
            ("GET", "/api/monitor/guide", "api_guide", .read, { _ in MonitorJSON.ok(api.context.guideSources()) }),
            ("POST", "/api/monitor/guide/:name/refresh", "api_guide_refresh", .write, { request in
                refresh(request, "guide source", api.context.refreshGuide) { GuideAction(source: $0, action: "refresh_requested") }
            }),
        ]
    }

    // MARK: Summary endpoints

    struct Stats: Encodable {
        struct Streams: Encodable {
            var running: Int
            var byStatus: [String: Int]
            var historyByStatus: [String: Int]
        }

        struct Averages: Encodable {
            var clientsPerStream: Double
            var bandwidthKbpsPerStream: Double
        }

        var streams: Streams
        var clients: Int
        var bandwidthKbps: Double
        var bytesIn: Int64
        var bytesOut: Int64
        var averages: Averages
    }

    /// `POST .../{name}/refresh`: 202 with `answer(name)` once asked, 404 naming an unknown name.
    static func refresh(_ request: HTTPRequest, _ kind: String, _ ask: (String) -> Bool, _ answer: (String) -> some Encodable) -> HTTPResponse {
        let name = request.parameters["name"] ?? ""
        guard ask(name) else { return .error(status: 404, code: "not_found", message: "no \(kind) is named \(name.prefix(64))") }
        return MonitorJSON.ok(answer(name), status: 202)
    }

    func makeStats(_ live: [StreamSnapshot]) -> Stats {
        var byStatus = ["starting": 0, "active": 0, "idle": 0]
        for stream in live { byStatus[stream.status.rawValue, default: 0] += 1 }
        let history = (try? context.database.streamCountsByStatus()) ?? [:]
        let clients = live.reduce(0) { $0 + $1.clientCount }
        let bandwidth = live.reduce(Int64(0)) { $0 + $1.bandwidthBitsPerSecond }
        let count = Double(max(live.count, 1))
        return Stats(
            streams: .init(running: live.count, byStatus: byStatus,
                           historyByStatus: Dictionary(uniqueKeysWithValues: history.map { ($0.key.rawValue, $0.value) })),
            clients: clients, bandwidthKbps: StreamView.kbps(bandwidth),
            bytesIn: live.reduce(0) { $0 + $1.bytesIn }, bytesOut: live.reduce(0) { $0 + $1.bytesOut },
            averages: .init(clientsPerStream: (Double(clients) / count * 100).rounded() / 100,
                            bandwidthKbpsPerStream: (StreamView.kbps(bandwidth) / count * 10).rounded() / 10)
        )
    }

    func stats() -> HTTPResponse {
        MonitorJSON.ok(makeStats(context.sessions.snapshots(withClients: false)))
    }

    /// `withGuide`: with what the channel airs now and next (one indexed read per guide source).
    func liveView(_ snapshot: StreamSnapshot, withClients: Bool, withGuide: Bool = false, now: Date) -> StreamView {
        var view = StreamView(live: snapshot, channelName: context.channelName(snapshot.channelID),
                              health: HealthEvaluator.streamHealth(snapshot, now: now), withClients: withClients, now: now)
        if withGuide { view.guide = context.nowNext(snapshot.channelID) }
        return view
    }

    func host() -> HostFigures {
        HostFigures.current(bufferPath: context.bufferPath, databasePath: context.database.path)
    }

    func system(_ host: HostFigures) -> SystemView {
        let size = (try? FileManager.default.attributesOfItem(atPath: context.database.path)[.size] as? NSNumber)?.int64Value
        return SystemView(host, databaseBytes: size, uptimeSeconds: Int(Date().timeIntervalSince(context.startedAt)))
    }

    struct Realtime: Encodable {
        var streams: [StreamView]
        var system: SystemView
    }

    func realtime() -> HTTPResponse {
        let now = Date()
        let streams = context.sessions.snapshots().sorted { $0.channelID < $1.channelID }.map { liveView($0, withClients: true, withGuide: true, now: now) }
        return MonitorJSON.ok(Realtime(streams: streams, system: system(host())))
    }

    struct Dashboard: Encodable {
        var summary: Stats
        var topStreams: [StreamView]
        var systemHealth: HealthReport
        var system: SystemView
        var recentAlerts: [AlertView]
    }

    func dashboard() -> HTTPResponse {
        let now = Date()
        let live = context.sessions.snapshots(withClients: false)
        let top = live.sorted { ($0.clientCount, $0.bandwidthBitsPerSecond, $1.channelID) > ($1.clientCount, $1.bandwidthBitsPerSecond, $0.channelID) }
            .prefix(5).map { liveView($0, withClients: false, now: now) }
        let host = host()
        let report = evaluateHealth(live, host: host, now: now)
        return MonitorJSON.ok(Dashboard(summary: makeStats(live), topStreams: Array(top), systemHealth: report, system: system(host),
                                        recentAlerts: context.alerts()))
    }

    func evaluateHealth(_ live: [StreamSnapshot], host: HostFigures, now: Date = Date()) -> HealthReport {
        HealthEvaluator(database: context.database, bufferPath: context.bufferPath).evaluate(streams: live, host: host, now: now)
    }

    func health() -> HTTPResponse {
        let report = evaluateHealth(context.sessions.snapshots(withClients: false), host: host())
        return MonitorJSON.ok(report, status: report.status == .unhealthy ? 503 : 200)
    }

    func performance(_ request: HTTPRequest) -> HTTPResponse {
        let periodText = request.query["period"] ?? "24h"
        let metricText = request.query["metric"] ?? "bandwidth"
        guard let period = Performance.Period(rawValue: periodText) else {
            return .error(status: 400, code: "invalid_parameter",
                          message: "query parameter period must be one of \(Performance.Period.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let metric = Performance.Metric(rawValue: metricText) else {
            return .error(status: 400, code: "invalid_parameter",
                          message: "query parameter metric must be one of \(Performance.Metric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var stream: String?
        if let given = request.query["stream"] {
            guard let id = UUID(uuidString: given) else {
                return .error(status: 400, code: "invalid_parameter", message: "query parameter stream must be a stream id (a UUID)")
            }
            stream = id.lowercasedString
        }
        let window = Performance.window(period, now: Date())
        let from = Date(timeIntervalSince1970: Double(window.from)), to = Date(timeIntervalSince1970: Double(window.to))
        do {
            let rows = try context.database.statsBuckets(from: from, to: to, bucketSeconds: period.bucketSeconds, sessionID: stream)
            return MonitorJSON.ok(Performance.Series(
                period: period.rawValue, metric: metric.rawValue, unit: metric.unit, bucketSeconds: period.bucketSeconds,
                from: from, to: to, stream: stream?.lowercased(),
                points: Performance.points(rows, metric: metric, period: period, from: window.from, count: window.count)
            ))
        } catch {
            return .error(status: 500, code: "database_error", message: error.description)
        }
    }

    func cleanup() -> HTTPResponse {
        do {
            return MonitorJSON.ok(try context.cleanup())
        } catch {
            return .error(status: 500, code: "cleanup_failed", message: "\(error)")
        }
    }

    // MARK: Streams

    static let statuses = ["starting", "active", "idle", "error", "stopped"]

    /// `limit` of `GET streams`: its default and largest value.
    static let defaultStreamLimit = 100, maxStreamLimit = 1000

    func streams(_ request: HTTPRequest) -> HTTPResponse {
        let status = request.query["status"]
        if let status, !Self.statuses.contains(status) {
            return .error(status: 400, code: "invalid_parameter", message: "query parameter status must be one of \(Self.statuses.joined(separator: ", "))")
        }
        var limit = Self.defaultStreamLimit
        if let given = request.query["limit"] {
            guard let value = Int(given), (1...Self.maxStreamLimit).contains(value) else {
                return .error(status: 400, code: "invalid_parameter", message: "query parameter limit must be an integer from 1 to \(Self.maxStreamLimit)")
            }
            limit = value
        }
        let now = Date()
        let live = context.sessions.snapshots(withClients: false)
        let liveIDs = Set(live.map { $0.id.lowercasedString })
        var views = live.map { liveView($0, withClients: false, now: now) }
        do {
            let rows = try context.database.streams(status: status.flatMap(SharedStreamRecord.Status.init(rawValue:)), limit: limit + live.count)
            views += rows.filter { !liveIDs.contains($0.sessionId ?? "") }.map { StreamView(history: $0, channelName: context.channelName($0.channelId), now: now) }
        } catch {
            return .error(status: 500, code: "database_error", message: error.description)
        }
        if let status { views = views.filter { $0.status == status } }
        views.sort { ($0.live ? 0 : 1, $1.startedAt) < ($1.live ? 0 : 1, $0.startedAt) }
        return MonitorJSON.ok(Array(views.prefix(limit)))
    }

    func streamID(_ request: HTTPRequest) -> UUID? {
        request.parameters["id"].flatMap(UUID.init(uuidString:))
    }

    static let noSuchStream = HTTPResponse.error(status: 404, code: "stream_not_found", message: "no stream has this id")

    func stream(_ request: HTTPRequest) -> HTTPResponse {
        guard let id = streamID(request) else { return Self.noSuchStream }
        let now = Date()
        let row = try? context.database.stream(sessionID: id.lowercasedString)
        let lastStats = row.flatMap { $0.id }.flatMap { try? context.database.latestStat(ofStream: $0) }.map(StatSampleView.init)
        if let snapshot = context.sessions.snapshot(of: id) {
            var view = liveView(snapshot, withClients: true, withGuide: true, now: now)
            view.lastStats = lastStats
            return MonitorJSON.ok(view)
        }
        guard let row, let rowID = row.id else { return Self.noSuchStream }
        var view = StreamView(history: row, channelName: context.channelName(row.channelId), now: now)
        view.clients = ((try? context.database.clients(ofStream: rowID)) ?? []).map { ClientView(history: $0, now: now) }
        view.lastStats = lastStats
        return MonitorJSON.ok(view)
    }

    struct StreamAction: Encodable {
        var id: String
        var action: String
        var clientsClosed: Int?
    }

    func stopStream(_ request: HTTPRequest) -> HTTPResponse {
        guard let id = streamID(request) else { return Self.noSuchStream }
        guard let snapshot = context.sessions.snapshot(of: id) else { return notRunning(id) }
        guard context.sessions.stop(id) else { return notRunning(id) }
        return MonitorJSON.ok(StreamAction(id: id.lowercasedString, action: "stopped", clientsClosed: snapshot.clientCount))
    }

    func restartStream(_ request: HTTPRequest) -> HTTPResponse {
        guard let id = streamID(request) else { return Self.noSuchStream }
        guard context.sessions.restart(id) else { return notRunning(id) }
        return MonitorJSON.ok(StreamAction(id: id.lowercasedString, action: "restarting"), status: 202)
    }

    /// 404 for an unknown id, 409 for a stream that exists in history but is not running.
    func notRunning(_ id: UUID) -> HTTPResponse {
        if context.sessions.isEnding(id) || (try? context.database.stream(sessionID: id.lowercasedString)) != nil {
            return .error(status: 409, code: "stream_not_running", message: "the stream is not running")
        }
        return Self.noSuchStream
    }

    struct ClientAction: Encodable {
        var streamId: String
        var clientId: String
        var action: String
    }

    func kickClient(_ request: HTTPRequest) -> HTTPResponse {
        guard let id = streamID(request) else { return Self.noSuchStream }
        guard let client = request.parameters["client"].flatMap(UUID.init(uuidString:)), context.sessions.kick(stream: id, client: client) else {
            return .error(status: 404, code: "client_not_found", message: "no connected viewer of this stream has this id")
        }
        return MonitorJSON.ok(ClientAction(streamId: id.lowercasedString, clientId: client.lowercasedString, action: "kicked"))
    }

    struct TestRequest: Decodable {
        var url: String
    }

    func testStream(_ request: HTTPRequest) -> HTTPResponse {
        let body: TestRequest
        switch MonitorJSON.decode(TestRequest.self, from: request) {
        case let .success(decoded): body = decoded
        case let .failure(rejection): return rejection.response
        }
        // The schema's maxLength counts code points, as JSON Schema does.
        guard body.url.unicodeScalars.count <= 2048 else {
            return MonitorJSON.badRequest(field: "url", "must be at most 2048 characters")
        }
        let probe = context.probe
        // Only a malformed URL or a forbidden address is refused; a URL that cannot be reached
        // is a probe result (reachable: false, with the reason).
        if case let .failure(refusal) = probe.admit(body.url) {
            switch refusal {
            case .notHTTP: return MonitorJSON.badRequest(field: "url", "must be an http or https URL")
            case .privateAddress: return .error(status: 403, code: "private_address", message: refusal.description)
            case .badPort, .unresolvable:
                var result = ProbeResult(url: body.url)
                result.error = refusal.description
                return MonitorJSON.ok(result)
            }
        }
        let url = body.url
        let deferred = DeferredBody(name: "sharecast-probe") {
            let result = probe.probe(url)
            return (try? Array(MonitorJSON.encoder().encode(MonitorJSON.Envelope(data: result)))) ?? Array(#"{"data":null}"#.utf8)
        }
        return HTTPResponse(headers: HTTPHeaders([("Content-Type", "application/json"), ("Cache-Control", "no-store")]), body: .stream(deferred))
    }
}
