import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SharecastApp
import SharecastTS
import Testing

/// The stand-in provider that later tests and benchmarks count upstream connections with.
@Suite struct TestOriginTests {
    /// Reads `bytes` bytes of a stream over a raw socket, then closes it.
    static func readStream(port: Int, path: String, bytes: Int) throws -> [UInt8] {
        let socket = try LoopbackSocket(port: port)
        try socket.send("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        var received = try socket.receive(atLeast: bytes + 512)
        guard let headerEnd = received.firstRange(of: [13, 10, 13, 10]) else { return [] }
        received.removeSubrange(0..<headerEnd.upperBound)
        return Array(received.prefix(bytes))
    }

    @Test func countsServedAndOpenConnectionsAndServesValidTS() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let origin = try TestOrigin(port: 0, logger: logger)
        defer { origin.shutdown() }
        #expect(origin.counts == .init(connectionsServed: 0, connectionsOpen: 0))

        let first = try Self.readStream(port: origin.port, path: "/stream.ts", bytes: 188 * 100)
        let second = try Self.readStream(port: origin.port, path: "/any/other/path.ts", bytes: 188 * 100)
        #expect(first.count == 188 * 100 && second.count == 188 * 100)
        // Both start at the clip's first packet, on a packet boundary.
        #expect(first == second)
        #expect(stride(from: 0, to: first.count, by: 188).allSatisfy { first[$0] == 0x47 })
        #expect(Array(first.prefix(188 * 100)) == Array(try #require(TSClip.testPattern).bytes.prefix(188 * 100)))

        try await waitUntil { origin.counts.connectionsOpen == 0 }
        #expect(origin.counts.connectionsServed == 2)

        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(origin.port)/stats")!)
        #expect(String(decoding: data, as: UTF8.self) == #"{"connections_open":0,"connections_served":2}"#)
    }

    @Test func paddingReachesTheRequestedBitrate() async throws {
        let origin = try TestOrigin(port: 0, targetBitsPerSecond: 8_000_000, logger: Logger(label: "test"))
        defer { origin.shutdown() }
        let started = ContinuousClock.now
        // The first second arrives at once; another 1 MB takes about one more second at 8 Mbit/s.
        let bytes = try Self.readStream(port: origin.port, path: "/stream.ts", bytes: 2_000_000)
        let elapsed = ContinuousClock.now - started
        #expect(bytes.count == 2_000_000)
        #expect(elapsed > .milliseconds(500), "an 8 Mbit/s stream delivered 2 MB in \(elapsed)")
    }
}
