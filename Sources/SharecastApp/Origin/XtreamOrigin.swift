import Foundation
import Logging
import SharecastCore
import SharecastHTTP
import SharecastTS
import SharecastSync

/// A stand-in Xtream Codes panel, for tests, benchmarks and trying Sharecast without a provider:
/// `player_api.php` (account info with `max_connections`, live categories and streams),
/// `/live/<user>/<pass>/<id>.ts` playing the test pattern, `get.php` (an M3U of the same streams)
/// and `xmltv.php`. Like a real panel, it counts each login's open connections and refuses one
/// over the limit (HTTP 403); it remembers the most a login ever had open. Its token can be
/// rotated (`rotateToken`, or `POST /stand-in/rotate-token`): M3U stream URLs carry it and stale
/// ones are refused, as rotating providers do. Its catalog documents carry an ETag (`get.php` a
/// Last-Modified) and answer 304 while nothing changed.
public final class XtreamOrigin: Sendable {
    public struct Login: Sendable {
        public var username: String
        public var password: String
        public var maxConnections: Int
        public var status: String

        public init(username: String, password: String, maxConnections: Int, status: String = "Active") {
            self.username = username
            self.password = password
            self.maxConnections = maxConnections
            self.status = status
        }
    }

    public struct Channel: Sendable {
        public var id: Int
        public var name: String
        public var category: String
        public var epgID: String?

        public init(id: Int, name: String, category: String, epgID: String? = nil) {
            self.id = id
            self.name = name
            self.category = category
            self.epgID = epgID
        }
    }

    struct State {
        var open: [String: Int] = [:]
        var peak: [String: Int] = [:]
        var refused: [String: Int] = [:]
        var token = "t1"
        var streamRequests: [String] = []
        var errorPage = false
        /// Account statuses set after start (`Expired`, `Banned`), by user name.
        var status: [String: String] = [:]
        /// Bumped by every change of what the catalog documents say (the token).
        var version = 1
        /// Conditional requests answered 304, and documents sent whole, by action (`get.php` for the M3U).
        var notModified: [String: Int] = [:]
        var sentWhole: [String: Int] = [:]
    }

    private let server: HTTPServer
    private let ticker: WakeTicker
    private let state = Locked(State())
    public let logins: [Login]
    public let channels: [Channel]

    public var port: Int { server.port }
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(logins: [Login], channels: [Channel], listen: String = "127.0.0.1", port: Int = 0, logger: Logger) throws {
        guard let clip = TSClip.testPattern else { throw TestOrigin.StartError.noClip }
        self.logins = logins
        self.channels = channels
        let ticker = WakeTicker()
        self.ticker = ticker
        let state = self.state
        let categories = Array(Set(channels.map(\.category))).sorted()
        @Sendable func login(_ request: HTTPRequest) -> Login? {
            logins.first { $0.username == request.query["username"] && $0.password == request.query["password"] }
        }
        /// Answers 304 when the request names the current version (an ETag for the JSON actions,
        /// Last-Modified for `get.php`, as panels behind nginx do), else `make()`.
        @Sendable func versioned(_ request: HTTPRequest, _ document: String, byDate: Bool, _ make: () -> HTTPResponse) -> HTTPResponse {
            let version = state.withLock { $0.version }
            let tag = "\"\(document)-v\(version)\"", date = Self.httpDate(version)
            let matches = byDate ? request.headers["If-Modified-Since"] == date : request.headers["If-None-Match"] == tag
            state.withLock { state in
                if matches { state.notModified[document, default: 0] += 1 } else { state.sentWhole[document, default: 0] += 1 }
            }
            if matches { return HTTPResponse(status: 304) }
            var response = make()
            if byDate { response.headers.add("Last-Modified", date) } else { response.headers.add("ETag", tag) }
            return response
        }
        var router = Router()
        router.get("/player_api.php") { request in
            if state.withLock({ $0.errorPage }) { return .text("<html><body>502 Bad Gateway</body></html>", status: 200, contentType: "text/html") }
            guard let account = login(request) else { return Self.json(["user_info": ["auth": 0]]) }
            switch request.query["action"] {
            case nil:
                let (open, override) = state.withLock { ($0.open[account.username] ?? 0, $0.status[account.username]) }
                return Self.json(["user_info": [
                    "username": account.username, "auth": 1, "status": override ?? account.status, "exp_date": "4102444800", "is_trial": "0",
                    "active_cons": "\(open)", "max_connections": "\(account.maxConnections)",
                ] as [String: Any], "server_info": ["url": "127.0.0.1", "port": "0"]])
            case "get_live_categories":
                return versioned(request, "get_live_categories", byDate: false) { Self.json(categories.enumerated().map { ["category_id": "\($0.offset + 1)", "category_name": $0.element, "parent_id": 0] as [String: Any] }) }
            case "get_live_streams":
                return versioned(request, "get_live_streams", byDate: false) { Self.json(channels.enumerated().map { index, channel in
                    var entry: [String: Any] = ["num": index + 1, "name": channel.name, "stream_type": "live", "stream_id": channel.id,
                                                "stream_icon": "", "category_id": "\((categories.firstIndex(of: channel.category) ?? 0) + 1)"]
                    entry["epg_channel_id"] = channel.epgID ?? NSNull()
                    return entry
                }) }
            default:
                return Self.json([String]())
            }
        }
        router.get("/get.php") { request in
            if state.withLock({ $0.errorPage }) { return .text("<html><body>502 Bad Gateway</body></html>", status: 200, contentType: "text/html") }
            guard let account = login(request) else { return .text("", status: 401) }
            return versioned(request, "get.php", byDate: true) {
                let token = state.withLock { $0.token }
                var text = "#EXTM3U\n"
                for channel in channels {
                    text += "#EXTINF:-1 tvg-id=\"\(channel.epgID ?? "")\" group-title=\"\(channel.category)\",\(channel.name)\n"
                    text += "http://127.0.0.1:\(request.headers["Host"]?.split(separator: ":").last ?? "80")/live/\(account.username)/\(account.password)/\(channel.id).ts?token=\(token)\n"
                }
                return .text(text, contentType: "audio/x-mpegurl")
            }
        }
        // The guide of the first 1000 channels with an EPG id: 8 days of half-hour programmes
        // from yesterday, made at the first request and kept (a panel's guide changes a few
        // times a day).
        let guide = Locked<[UInt8]?>(nil)
        let guided = Array(channels.compactMap { channel in channel.epgID.map { GuideGenerator.Channel(id: $0, name: channel.name) } }.prefix(1000))
        router.get("/xmltv.php") { request in
            guard login(request) != nil else { return .text("", status: 401) }
            return versioned(request, "xmltv.php", byDate: false) {
                let bytes = guide.withLock { cached in
                    if let cached { return cached }
                    let made = Array(GuideGenerator(channels: guided).document.utf8)
                    cached = made
                    return made
                }
                return HTTPResponse(headers: HTTPHeaders([("Content-Type", "application/xml")]), body: .bytes(bytes))
            }
        }
        // For benchmarks and manual tries against `sharecast origin`: a new token (a changed
        // catalog) without restarting the panel.
        router.add("POST", "/stand-in/rotate-token") { _ in
            let token = state.withLock { state in
                state.version += 1
                state.token = "t\(state.version)"
                return state.token
            }
            return HTTPResponse.text(token + "\n")
        }
        router.get("/live/:user/:pass/:file", name: "stream") { request in
            let user = request.parameters["user"] ?? "", pass = request.parameters["pass"] ?? ""
            guard let account = logins.first(where: { $0.username == user && $0.password == pass }) else { return .text("", status: 401) }
            let accepted = state.withLock { state -> Bool in
                state.streamRequests.append(request.path + (request.query["token"].map { "?token=\($0)" } ?? ""))
                if let token = request.query["token"], token != state.token { return false }
                let open = state.open[user] ?? 0
                guard open < account.maxConnections else {
                    state.refused[user, default: 0] += 1
                    return false
                }
                state.open[user] = open + 1
                state.peak[user] = max(state.peak[user] ?? 0, open + 1)
                return true
            }
            guard accepted else { return .text("", status: 403) }
            let body = TestPatternBody(clip: clip, ticker: ticker) { _ in
                state.withLock { $0.open[user] = max(($0.open[user] ?? 1) - 1, 0) }
            }
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .stream(body))
        }
        var configuration = HTTPServer.Configuration(listen: listen, port: port)
        configuration.threads = 1
        do {
            server = try HTTPServer(configuration: configuration, router: router, logger: logger)
        } catch {
            ticker.stop()
            throw error
        }
    }

    static func json(_ value: Any) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: value)) ?? Data("null".utf8)
        return HTTPResponse(headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(Array(data)))
    }

    /// The most connections each login ever had open at once.
    public var peakConnections: [String: Int] { state.withLock { $0.peak } }
    public var openConnections: [String: Int] { state.withLock { $0.open } }
    public var refusals: [String: Int] { state.withLock { $0.refused } }
    /// Stream paths requested, in order (with `?token=` when given).
    public var streamRequests: [String] { state.withLock { $0.streamRequests } }

    /// What `player_api.php` says of the login from now on (`Expired`, `Banned`, `Active`).
    public func setStatus(_ username: String, _ status: String) {
        state.withLock { $0.status[username] = status }
    }

    public func rotateToken(_ token: String) {
        state.withLock { state in
            state.token = token
            state.version += 1
        }
    }

    /// Conditional requests answered 304, by document (`get_live_streams`, `get.php`, ...).
    public var notModifiedAnswers: [String: Int] { state.withLock { $0.notModified } }
    /// Documents sent whole, by document.
    public var wholeAnswers: [String: Int] { state.withLock { $0.sentWhole } }

    /// An HTTP date (RFC 9110) that names catalog version `version`: one second per version.
    static func httpDate(_ version: Int) -> String {
        HTTPDate.string(Date(timeIntervalSince1970: 1_767_225_600 + Double(version)))
    }

    /// From now on `player_api.php` and `get.php` answer an HTML error page with status 200.
    public func answerErrorPages(_ on: Bool) {
        state.withLock { $0.errorPage = on }
    }

    public func shutdown() {
        server.shutdown()
        ticker.stop()
    }
}
