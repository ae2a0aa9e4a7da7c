import Foundation
import SharecastCore
import SharecastHTTP
import SharecastMonitor

/// The checks in front of the routes, from `security` in the configuration: who the client is
/// (`trusted_proxies`), whether it may come in (`allow`/`deny`), how often (per-IP token buckets),
/// and with which credentials (`api_tokens`, `metrics_token`, both compared in constant time).
///
/// Order matters: the access list first (a denied network learns nothing more), then the rate
/// limit (so tokens cannot be guessed at speed), then the credentials.
struct SecurityGate: Sendable {
    let resolver: ClientAddressResolver
    let access: AccessList
    let apiLimiter: RateLimiter
    let streamLimiter: RateLimiter
    /// Unknown stream keys per IP: exhausted, the IP's stream requests get 429 for a while.
    let badKeys: RateLimiter
    let apiTokens: [String]
    let metricsToken: String

    init(_ config: SecurityConfig) {
        resolver = ClientAddressResolver(trustedProxies: config.trustedProxies.compactMap(CIDR.init))
        access = AccessList(allow: config.allow.compactMap(CIDR.init), deny: config.deny.compactMap(CIDR.init))
        apiLimiter = RateLimiter(ratePerSecond: Double(config.apiRatePerMinute) / 60, burst: config.apiBurst)
        streamLimiter = RateLimiter(ratePerSecond: Double(config.streamRatePerMinute) / 60, burst: config.streamBurst)
        badKeys = RateLimiter(ratePerSecond: Double(config.badKeysPerMinute) / 60, burst: max(config.badKeysPerMinute, 1))
        apiTokens = config.apiTokens
        metricsToken = config.metricsToken
    }

    /// The request with `remoteAddress` replaced by the real client's address.
    func resolved(_ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.remoteAddress = resolver.resolve(peer: request.remoteAddress, forwardedFor: request.headers["X-Forwarded-For"])
        return request
    }

    static func tooMany(_ seconds: Int, _ what: String) -> HTTPResponse {
        .error(status: 429, code: "rate_limited", message: "too many \(what) from this address; retry in \(seconds) s",
               headers: [("Retry-After", "\(seconds)")])
    }

    static let forbidden = HTTPResponse.error(status: 403, code: "forbidden", message: "this address may not use this server")

    /// The token a request carries: `Authorization: Bearer …` or `X-API-Key: …`.
    static func token(_ request: HTTPRequest) -> String? {
        if let authorization = request.headers["Authorization"], authorization.lowercased().hasPrefix("bearer ") {
            return String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return request.headers["X-API-Key"]
    }

    static func isLoopback(_ address: String) -> Bool {
        guard let ip = IPAddress(address) else { return false }
        return CIDR("127.0.0.0/8").map { $0.contains(ip) } == true || CIDR("::1/128").map { $0.contains(ip) } == true
    }

    func api(_ access: MonitorAPI.Access, _ handler: @escaping Router.Handler) -> Router.Handler {
        { original in
            let request = resolved(original)
            guard self.access.permits(request.remoteAddress) else { return Self.forbidden }
            if let wait = apiLimiter.take(request.remoteAddress) { return Self.tooMany(wait, "API requests") }
            if !apiTokens.isEmpty {
                guard let token = Self.token(request), ConstantTime.matchesAny(token, apiTokens) else {
                    return .error(status: 401, code: "unauthorized", message: "a valid API token is required (Authorization: Bearer or X-API-Key)",
                                  headers: [("WWW-Authenticate", "Bearer realm=\"sharecast\"")])
                }
            } else if access == .write, !Self.isLoopback(request.remoteAddress) {
                return .error(status: 403, code: "forbidden",
                              message: "without security.api_tokens, only loopback clients may change anything")
            }
            return handler(request)
        }
    }

    /// `/playlist.m3u`: it lists every stream key, so it gets the API's access list and rate limit
    /// (players cannot send tokens, so none is asked).
    func playlist(_ handler: @escaping Router.Handler) -> Router.Handler {
        { original in
            let request = resolved(original)
            guard access.permits(request.remoteAddress) else { return Self.forbidden }
            if let wait = apiLimiter.take(request.remoteAddress) { return Self.tooMany(wait, "requests") }
            return handler(request)
        }
    }

    func stream(_ handler: @escaping Router.Handler) -> Router.Handler {
        { original in
            let request = resolved(original)
            guard access.permits(request.remoteAddress) else { return Self.forbidden }
            if let wait = badKeys.wait(request.remoteAddress) { return Self.tooMany(wait, "unknown stream keys") }
            if let wait = streamLimiter.take(request.remoteAddress) { return Self.tooMany(wait, "stream requests") }
            let response = handler(request)
            if response.status == 404 { _ = badKeys.take(request.remoteAddress) }
            return response
        }
    }

    func metrics(_ handler: @escaping Router.Handler) -> Router.Handler {
        { request in
            guard !metricsToken.isEmpty else { return handler(request) }
            guard let token = Self.token(request), ConstantTime.equals(token, metricsToken) else {
                return .error(status: 401, code: "unauthorized", message: "a valid metrics token is required (Authorization: Bearer)",
                              headers: [("WWW-Authenticate", "Bearer realm=\"sharecast-metrics\"")])
            }
            return handler(request)
        }
    }
}
