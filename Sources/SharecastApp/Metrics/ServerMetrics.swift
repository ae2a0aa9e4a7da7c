import Foundation
import GRDB
import SharecastCore
import SharecastMetrics
import SharecastStore
import SharecastStreaming
import Synchronization
import SharecastSync

/// Assembles every metric of a running server: build info, configured thresholds, HTTP requests,
/// database writes, and the collectors for streams, process and host.
final class ServerMetrics: Sendable {
    let registry = MetricsRegistry()
    let streaming: StreamingMetrics
    let dbWriteDuration: Histogram
    /// By route and status: a key of both rather than a string made from them, so counting a
    /// request allocates nothing.
    private struct RouteStatus: Hashable {
        let route: String
        let status: Int
    }
    private let httpRequests = Locked<[RouteStatus: Counter]>([:])
    private let httpDurations = Locked<[String: Histogram]>([:])

    init(config: SharecastConfig) {
        streaming = StreamingMetrics(registry: registry)
        registry.info("sharecast_build", help: "Sharecast's version, source revision and Swift compiler.", labels: [
            ("version", SharecastVersion.current), ("revision", SharecastVersion.revision), ("swift", SharecastVersion.swift),
        ])
        let streamingConfig = config.sharedStreaming
        registry.gauge("sharecast_config_max_concurrent_streams", help: "shared_streaming.max_concurrent_streams.")
            .set(Double(streamingConfig.maxConcurrentStreams))
        registry.gauge("sharecast_config_bandwidth_threshold_bytes_per_second",
                       help: "shared_streaming.monitoring.bandwidth_threshold (configured in kbit/s), in bytes per second.")
            .set(Double(streamingConfig.monitoring.bandwidthThreshold) * 1000 / 8)
        registry.gauge("sharecast_config_client_timeout_seconds", help: "shared_streaming.client_timeout.", unit: "seconds")
            .set(Double(streamingConfig.clientTimeout))
        registry.gauge("sharecast_config_stream_timeout_seconds", help: "shared_streaming.monitoring.stream_timeout.", unit: "seconds")
            .set(Double(streamingConfig.monitoring.streamTimeout))
        registry.gauge("sharecast_config_grace_period_seconds", help: "shared_streaming.grace_period.", unit: "seconds")
            .set(Double(streamingConfig.gracePeriod))
        dbWriteDuration = registry.histogram("sharecast_db_write_duration_seconds", help: "Time to write one batch of stream history.",
                                             unit: "seconds", bounds: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])
    }

    /// Adds the collectors that need the running parts.
    func attach(catalog: ChannelCatalog, database: SharecastDatabase, bufferPath: String) {
        let streaming = self.streaming
        registry.addCollector { [catalog] writer in
            streaming.writeChannels(into: &writer, catalog: catalog.current.channelIDs)
        }
        let dbUp = CachedValue<Bool>()
        registry.addCollector { [database] writer in
            // A query per scrape is most of a small scrape's cost; once every 5 s says as much.
            let up = dbUp.value(maxAge: 5) { (try? database.pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1 } ?? false
            writer.family("sharecast_db_up", .gauge, help: "1 when the database answers a query.")
            writer.gauge(.empty, up ? 1 : 0)
        }
        registry.addCollector { writer in ProcessCollector.write(into: &writer, bufferPath: bufferPath) }
    }

    /// Counts a request and its duration under its route's name.
    func observeRequest(route: String, status: Int, seconds: Double) {
        let key = RouteStatus(route: route, status: status)
        let counter = httpRequests.withLock { table in
            if let existing = table[key] { return existing }
            let counter = registry.counter("sharecast_http_requests", help: "HTTP requests by route and status code.",
                                           labels: [("handler", route), ("code", String(status))])
            table[key] = counter
            return counter
        }
        counter.increment()
        let histogram = httpDurations.withLock { table in
            if let existing = table[route] { return existing }
            let histogram = registry.histogram("sharecast_http_request_duration_seconds", help: "Time from request to response (streams: to their start).",
                                               unit: "seconds", bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
                                               labels: [("handler", route)])
            table[route] = histogram
            return histogram
        }
        histogram.observe(seconds)
    }
}
