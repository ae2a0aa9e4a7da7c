/// Maps method and path to a handler. Patterns are literal segments, `:name` parameters
/// (`/stream/:key`) and a final `*` that matches any rest of the path; the first route that matches wins, and a path that matches a route under
/// another method answers 405 with `Allow`.
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    struct Route: Sendable {
        let method: String
        let segments: [Substring]
        let name: String
        let handler: Handler
    }

    private var routes: [Route] = []

    public init() {}

    /// `name` labels the route in logs and metrics (bounded, unlike raw paths).
    public mutating func add(_ method: String, _ pattern: String, name: String? = nil, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true)
        routes.append(Route(method: method.uppercased(), segments: segments, name: name ?? pattern, handler: handler))
    }

    public mutating func get(_ pattern: String, name: String? = nil, _ handler: @escaping Handler) {
        add("GET", pattern, name: name, handler)
    }

    public struct Match: Sendable {
        public let name: String
        public let handler: Handler
        public let parameters: [String: String]
    }

    public enum Resolution: Sendable {
        case matched(Match)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    /// Among the routes whose pattern matches, only the most specific (most literal segments)
    /// count: `POST /streams/test` shadows `GET /streams/:id` for that path, so a `GET` of it is
    /// 405 with `Allow: POST` rather than a lookup of a stream called "test".
    public func resolve(method: String, path: String) -> Resolution {
        let requested = path.split(separator: "/", omittingEmptySubsequences: true)
        // HEAD is GET without the body; MHD drops the body for us.
        let effective = method == "HEAD" ? "GET" : method
        var candidates: [(route: Route, parameters: [String: String])] = []
        for route in routes {
            guard let parameters = Self.match(route.segments, requested) else { continue }
            candidates.append((route, parameters))
        }
        let best = candidates.map { Self.literals($0.route.segments) }.max() ?? 0
        var allowed: [String] = []
        for (route, parameters) in candidates where Self.literals(route.segments) == best {
            if route.method == effective {
                return .matched(Match(name: route.name, handler: route.handler, parameters: parameters))
            }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    static func literals(_ segments: [Substring]) -> Int {
        segments.count { $0.first != ":" && $0 != "*" }
    }

    static func match(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        let isWildcard = pattern.last == "*"
        guard isWildcard ? path.count >= pattern.count - 1 : pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            if expected == "*" {
                return parameters
            } else if expected.first == ":" {
                parameters[String(expected.dropFirst())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}
