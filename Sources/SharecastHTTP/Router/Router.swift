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
        /// How many of `segments` are literal: among matching routes the most literal wins.
        let literals: Int
    }

    private var routes: [Route] = []
    /// The routes (their indices, in order) that can match a path by its first segment: every
    /// request looks at these only, not at every route (this runs before each stream join's
    /// first byte).
    private var byFirstSegment: [Substring: [Int]] = [:]
    /// Routes whose first segment is a parameter or `*`, or that have none: they may match any path.
    private var anyFirstSegment: [Int] = []

    public init() {}

    /// `name` labels the route in logs and metrics (bounded, unlike raw paths).
    public mutating func add(_ method: String, _ pattern: String, name: String? = nil, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true)
        let index = routes.count
        routes.append(Route(method: method.uppercased(), segments: segments, name: name ?? pattern, handler: handler,
                            literals: Self.literals(segments)))
        if let first = segments.first, !Self.isPattern(first) {
            byFirstSegment[first, default: []].append(index)
        } else {
            anyFirstSegment.append(index)
        }
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
        let literal = requested.first.flatMap { byFirstSegment[$0] } ?? []
        var matching: [(index: Int, parameters: [String: String])] = []
        var best = 0
        // Both lists are in the order the routes were added; merged, the first route wins.
        var l = literal.startIndex, a = anyFirstSegment.startIndex
        while l < literal.endIndex || a < anyFirstSegment.endIndex {
            let index: Int
            if a == anyFirstSegment.endIndex || (l < literal.endIndex && literal[l] < anyFirstSegment[a]) {
                index = literal[l]; l += 1
            } else {
                index = anyFirstSegment[a]; a += 1
            }
            guard let parameters = Self.match(routes[index].segments, requested) else { continue }
            best = max(best, routes[index].literals)
            matching.append((index, parameters))
        }
        var allowed: [String] = []
        for (index, parameters) in matching where routes[index].literals == best {
            let route = routes[index]
            if route.method == effective {
                return .matched(Match(name: route.name, handler: route.handler, parameters: parameters))
            }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    static func isPattern(_ segment: Substring) -> Bool {
        segment.first == ":" || segment == "*"
    }

    static func literals(_ segments: [Substring]) -> Int {
        segments.count { !isPattern($0) }
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
