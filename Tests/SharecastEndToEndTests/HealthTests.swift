import Foundation
import SharecastCore
import SharecastMetrics
import SharecastMonitor
import SharecastStore
import Testing

/// The health verdict from host figures at and past each threshold.
@Suite struct HealthTests {
    static func host(diskFree: Double = 0.5, memoryAvailable: Double = 0.5, descriptors: Int = 100) -> HostFigures {
        var host = HostFigures()
        host.bufferDisk = .init(path: "/buffers", totalBytes: 1000, freeBytes: diskFree * 1000)
        host.memoryTotalBytes = 1000
        host.memoryAvailableBytes = memoryAvailable * 1000
        host.openFileDescriptors = descriptors
        host.maxFileDescriptors = 1000
        return host
    }

    @Test func eachCheckDegradesThenFails() throws {
        let directory = try TemporaryDirectory()
        let evaluator = HealthEvaluator(database: try SharecastDatabase(path: directory.file("db.sqlite")), bufferPath: "/buffers")
        func verdict(_ host: HostFigures, _ streams: [StreamSnapshot] = []) -> (HealthStatus, [String: HealthStatus]) {
            let report = evaluator.evaluate(streams: streams, host: host)
            return (report.status, Dictionary(uniqueKeysWithValues: report.checks.map { ($0.name, $0.status) }))
        }
        #expect(verdict(Self.host()).0 == .healthy)
        #expect(verdict(Self.host(diskFree: 0.05)).1["buffer_disk"] == .degraded)
        #expect(verdict(Self.host(diskFree: 0.01)).0 == .unhealthy)
        #expect(verdict(Self.host(memoryAvailable: 0.10)).0 == .degraded)
        #expect(verdict(Self.host(memoryAvailable: 0.02)).0 == .unhealthy)
        #expect(verdict(Self.host(descriptors: 900)).1["file_descriptors"] == .degraded)
        #expect(verdict(Self.host(descriptors: 990)).0 == .unhealthy)
        // A failed upstream degrades, never fails, the server.
        let failed = StreamSnapshot(id: UUID(), channelID: "a", sourceURL: "http://x/", format: "ts", status: .error, startedAt: Date())
        let withFailure = verdict(Self.host(), [failed])
        #expect(withFailure.0 == .degraded && withFailure.1["upstream_sessions"] == .degraded)
    }
}
