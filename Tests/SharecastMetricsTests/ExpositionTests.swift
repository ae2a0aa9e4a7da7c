import Foundation
import Testing
@testable import SharecastMetrics

@Suite struct ExpositionTests {
    /// A registry with one of everything, values fixed.
    static func makeRegistry() -> MetricsRegistry {
        let registry = MetricsRegistry(clock: { 1_700_000_000.5 })
        registry.info("sharecast_build", help: "Build information.", labels: [("version", "0.1.0"), ("swift", "6.3.1")])
        let sent = registry.counter("sharecast_stream_sent_bytes", help: "Bytes sent to viewers.", unit: "bytes", labels: [("channel", "news")])
        sent.add(1234)
        registry.counter("sharecast_stream_sent_bytes", help: "", unit: "bytes", labels: [("channel", "a\"b\\c\nd")]).add(5)
        registry.gauge("sharecast_stream_buffer_fill_ratio", help: "Share of the ring \"unread\".\nSecond line \\ end.", unit: "ratio").set(0.25)
        let latency = registry.histogram("sharecast_client_join_latency_seconds", help: "Request to first byte.", unit: "seconds",
                                         bounds: [0.005, 0.1, 1, 2.5, 1_000_000])
        latency.observe(0.003)
        latency.observe(0.05)
        latency.observe(2)
        latency.observe(5_000_000)
        registry.addCollector { writer in
            writer.write(MetricFamily(name: "sharecast_streams", kind: .gauge, help: "Streams by state.", series: [
                .init(labels: [("state", "active")], value: .gauge(2)),
                .init(labels: [("state", "idle")], value: .gauge(0)),
            ]))
            // A family without series leaves nothing behind.
            writer.family("sharecast_empty", .counter, help: "No series.")
        }
        return registry
    }

    /// Every value the writer prints reads back as the same Double, whichever path wrote it.
    @Test func numbersReadBackExactly() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0, 1, -1, 0.25, 0.005, 1e-7, 123.456, 1_764_000_000.123, 1e15, 1e16, -2.5e-3, .pi, 1 / 3]
        for _ in 0..<20_000 {
            let magnitude = Double.random(in: -8...12, using: &generator)
            let value = Double.random(in: -1...1, using: &generator) * pow(10, magnitude)
            values += [value, (value * 1000).rounded() / 1000, (value * 10_000).rounded() / 10_000]
        }
        for value in values {
            let writer = ByteWriter()
            writer.appendNumber(value)
            let text = String(decoding: writer.bytes, as: UTF8.self)
            #expect(Double(text) == value, "\(value) was written as \(text)")
        }
        let writer = ByteWriter()
        writer.appendNumber(1_764_000_000.5)
        writer.append(UInt8(ascii: " "))
        writer.appendNumber(0.0625)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "1764000000.5 0.0625")
    }

    @Test func prometheusTextIsPinnedByteForByte() {
        let text = Self.makeRegistry().exposeText(.prometheus)
        #expect(text == #"""
        # HELP sharecast_build_info Build information.
        # TYPE sharecast_build_info gauge
        sharecast_build_info{version="0.1.0",swift="6.3.1"} 1
        # HELP sharecast_stream_sent_bytes_total Bytes sent to viewers.
        # TYPE sharecast_stream_sent_bytes_total counter
        sharecast_stream_sent_bytes_total{channel="news"} 1234
        sharecast_stream_sent_bytes_total{channel="a\"b\\c\nd"} 5
        # HELP sharecast_stream_buffer_fill_ratio Share of the ring "unread".\nSecond line \\ end.
        # TYPE sharecast_stream_buffer_fill_ratio gauge
        sharecast_stream_buffer_fill_ratio 0.25
        # HELP sharecast_client_join_latency_seconds Request to first byte.
        # TYPE sharecast_client_join_latency_seconds histogram
        sharecast_client_join_latency_seconds_bucket{le="0.005"} 1
        sharecast_client_join_latency_seconds_bucket{le="0.1"} 2
        sharecast_client_join_latency_seconds_bucket{le="1.0"} 2
        sharecast_client_join_latency_seconds_bucket{le="2.5"} 3
        sharecast_client_join_latency_seconds_bucket{le="1e+06"} 3
        sharecast_client_join_latency_seconds_bucket{le="+Inf"} 4
        sharecast_client_join_latency_seconds_count 4
        sharecast_client_join_latency_seconds_sum 5000002.053
        # HELP sharecast_streams Streams by state.
        # TYPE sharecast_streams gauge
        sharecast_streams{state="active"} 2
        sharecast_streams{state="idle"} 0

        """#)
    }

    @Test func openMetricsTextIsPinnedByteForByte() {
        let text = Self.makeRegistry().exposeText(.openMetrics)
        #expect(text == #"""
        # HELP sharecast_build Build information.
        # TYPE sharecast_build info
        sharecast_build_info{version="0.1.0",swift="6.3.1"} 1
        # HELP sharecast_stream_sent_bytes Bytes sent to viewers.
        # TYPE sharecast_stream_sent_bytes counter
        # UNIT sharecast_stream_sent_bytes bytes
        sharecast_stream_sent_bytes_total{channel="news"} 1234
        sharecast_stream_sent_bytes_created{channel="news"} 1700000000.5
        sharecast_stream_sent_bytes_total{channel="a\"b\\c\nd"} 5
        sharecast_stream_sent_bytes_created{channel="a\"b\\c\nd"} 1700000000.5
        # HELP sharecast_stream_buffer_fill_ratio Share of the ring \"unread\".\nSecond line \\ end.
        # TYPE sharecast_stream_buffer_fill_ratio gauge
        # UNIT sharecast_stream_buffer_fill_ratio ratio
        sharecast_stream_buffer_fill_ratio 0.25
        # HELP sharecast_client_join_latency_seconds Request to first byte.
        # TYPE sharecast_client_join_latency_seconds histogram
        # UNIT sharecast_client_join_latency_seconds seconds
        sharecast_client_join_latency_seconds_bucket{le="0.005"} 1
        sharecast_client_join_latency_seconds_bucket{le="0.1"} 2
        sharecast_client_join_latency_seconds_bucket{le="1.0"} 2
        sharecast_client_join_latency_seconds_bucket{le="2.5"} 3
        sharecast_client_join_latency_seconds_bucket{le="1e+06"} 3
        sharecast_client_join_latency_seconds_bucket{le="+Inf"} 4
        sharecast_client_join_latency_seconds_count 4
        sharecast_client_join_latency_seconds_sum 5000002.053
        sharecast_client_join_latency_seconds_created 1700000000.5
        # HELP sharecast_streams Streams by state.
        # TYPE sharecast_streams gauge
        sharecast_streams{state="active"} 2
        sharecast_streams{state="idle"} 0
        # EOF

        """#)
    }

    @Test func theSameNameAndLabelsGiveTheSameHandle() {
        let registry = MetricsRegistry()
        let first = registry.counter("x", help: "x", labels: [("a", "1")])
        let again = registry.counter("x", help: "x", labels: [("a", "1")])
        let other = registry.counter("x", help: "x", labels: [("a", "2")])
        first.add(2)
        again.add(3)
        #expect(first === again)
        #expect(first !== other)
        #expect(first.current == 5)
    }

    @Test func acceptHeadersChooseTheFormat() {
        #expect(ExpositionFormat.negotiate(accept: nil) == .prometheus)
        #expect(ExpositionFormat.negotiate(accept: "text/plain") == .prometheus)
        // What Prometheus 2.42 sends.
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1") == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text; q=0") == .prometheus)
        #expect(ExpositionFormat.negotiate(accept: "text/plain, Application/OpenMetrics-Text ;version=1.0.0") == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;q = 0.0, text/plain") == .prometheus)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-textx") == .prometheus)
        #expect(ExpositionFormat.negotiate(accept: "") == .prometheus)
        #expect(HeaderToken.hasPrefix(" gzip;q=1".utf8[...], "gzip"))
        #expect(!HeaderToken.hasPrefix("deflate".utf8[...], "gzip"))
        #expect(!HeaderToken.equals("gzipx".utf8[...], "gzip"))
    }

    @Test func gzipRoundTripsThroughTheSystemGunzip() throws {
        let text = Self.makeRegistry().exposeText(.prometheus)
        let compressed = try #require(Gzip.compress(Array(text.utf8)))
        #expect(compressed.starts(with: [0x1F, 0x8B]))
        let directory = NSTemporaryDirectory() + "gz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(compressed).write(to: URL(fileURLWithPath: directory + "/m.gz"))
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-d", directory + "/m.gz"]
        try gunzip.run()
        gunzip.waitUntilExit()
        #expect(gunzip.terminationStatus == 0)
        #expect(try String(contentsOfFile: directory + "/m", encoding: .utf8) == text)
    }
}
