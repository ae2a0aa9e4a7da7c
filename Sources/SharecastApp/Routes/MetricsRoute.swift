import Foundation
import SharecastHTTP
import SharecastMetrics

/// `GET /metrics`: OpenMetrics when the scrape asks for it, Prometheus text otherwise; gzip when
/// the scraper accepts it.
enum MetricsRoute {
    static func handler(registry: MetricsRegistry) -> Router.Handler {
        { request in
            let format = ExpositionFormat.negotiate(accept: request.headers["Accept"])
            let body = registry.expose(format)
            var headers = HTTPHeaders([("Content-Type", format.contentType), ("Cache-Control", "no-store")])
            let acceptsGzip = request.headers["Accept-Encoding"]?.split(separator: ",")
                .contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("gzip") } ?? false
            if acceptsGzip, let compressed = Gzip.compress(body) {
                headers.add("Content-Encoding", "gzip")
                return HTTPResponse(headers: headers, body: .bytes(compressed))
            }
            return HTTPResponse(headers: headers, body: .bytes(body))
        }
    }
}
