/// Maps method and path to a handler. Patterns are literal segments, `:name` parameters
/// (`/stream/:key`) and a final `*` that matches any rest of the path; the first route that matches wins, and a path that matches a route under
/// another method answers 405 with `Allow`.
///
/// Resolving runs before every answer, a stream join's first byte included, so patterns are
/// parsed once when added, paths are split on their bytes, and a request tries only the routes
/// its first segment can match (docs/performance.md).
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    /// One segment of a pattern, parsed when the route is added.
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case wildcard

        init(_ text: Substring) {
            if text == "*" {
                self = .wildcard
            } else if text.utf8.first == UInt8(ascii: ":") {
                self = .parameter(String(text.dropFirst()))
            } else {
                self = .literal(String(text))
            }
        }
    }

    struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let name: String
        let handler: Handler
        /// How many of `segments` are literal: among matching routes the most literal wins.
        let literals: Int
        let endsInWildcard: Bool
    }

    private var routes: [Route] = []
    /// The routes (their indices, in the order they were added) that can match a path by its
    /// first segment: those starting with that literal and those in `anyFirstSegment`.
    private var byFirstSegment: [String: [Int]] = [:]
    /// Routes whose first segment is a parameter or `*`, or that have none: they may match any
    /// path, so they are in every list of `byFirstSegment` too.
    private var anyFirstSegment: [Int] = []

    public init() {}

    /// `name` labels the route in logs and metrics (bounded, unlike raw paths).
    public mutating func add(_ method: String, _ pattern: String, name: String? = nil, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map(Segment.init)
        let index = routes.count
        routes.append(Route(method: method.uppercased(), segments: segments, name: name ?? pattern, handler: handler,
                            literals: segments.count { if case .literal = $0 { true } else { false } },
                            endsInWildcard: segments.last == .wildcard))
        if case let .literal(first) = segments.first {
            byFirstSegment[first, default: anyFirstSegment].append(index)
        } else {
            anyFirstSegment.append(index)
            for first in byFirstSegment.keys { byFirstSegment[first]?.append(index) }
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
        let requested = Self.segments(of: path)
        // HEAD is GET without the body; MHD drops the body for us.
        let effective = method == "HEAD" ? "GET" : method
        let candidates = requested.first.flatMap { byFirstSegment[String($0)] } ?? anyFirstSegment
        var matching: [(index: Int, parameters: [String: String])] = []
        var best = 0
        for index in candidates {
            guard let parameters = Self.match(routes[index], requested) else { continue }
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

    /// The non-empty segments of `path` between slashes, found on its bytes (`/` is ASCII, so a
    /// byte boundary is a character boundary).
    static func segments(of path: String) -> [Substring] {
        var segments: [Substring] = []
        let bytes = path.utf8
        var start = bytes.startIndex
        var index = start
        while index != bytes.endIndex {
            if bytes[index] == UInt8(ascii: "/") {
                if start != index { segments.append(path[start..<index]) }
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        if start != bytes.endIndex { segments.append(path[start..<bytes.endIndex]) }
        return segments
    }

    static func match(_ route: Route, _ path: [Substring]) -> [String: String]? {
        let pattern = route.segments
        guard route.endsInWildcard ? path.count >= pattern.count - 1 : pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            switch expected {
            case .wildcard:
                return parameters
            case let .parameter(name):
                parameters[name] = String(actual)
            case let .literal(text):
                guard actual.utf8.elementsEqual(text.utf8) else { return nil }
            }
        }
        return parameters
    }
}
