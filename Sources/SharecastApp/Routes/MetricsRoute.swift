import SharecastHTTP
import SharecastMetrics

/// `GET /metrics`: OpenMetrics when the scrape asks for it, Prometheus text otherwise; gzip when
/// the scraper accepts it.
enum MetricsRoute {
    static func handler(registry: MetricsRegistry) -> Router.Handler {
        { request in
            let format = ExpositionFormat.negotiate(accept: request.headers["Accept"])
            let exposed = registry.exposition(format)
            var headers = HTTPHeaders([("Content-Type", format.contentType), ("Cache-Control", "no-store")])
            let acceptsGzip = request.headers["Accept-Encoding"]?.utf8.split(separator: UInt8(ascii: ","))
                .contains { HeaderToken.hasPrefix($0, "gzip") } ?? false
            if acceptsGzip, let compressed = exposed.withUnsafeBytes({ Gzip.compress($0) }) {
                headers.add("Content-Encoding", "gzip")
                return HTTPResponse(headers: headers, body: .bytes(compressed))
            }
            guard let (memory, count) = exposed.take() else { return HTTPResponse(headers: headers, body: .bytes([])) }
            return HTTPResponse(headers: headers, body: .memory(ResponseMemory(takingMallocated: memory, count: count)))
        }
    }
}
