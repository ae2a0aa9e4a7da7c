import Foundation
import SharecastMetrics

/// Host and process figures for `realtime` and `dashboard`.
struct SystemView: Encodable, Sendable {
    struct DiskView: Encodable, Sendable {
        var path: String
        var totalBytes: Int64
        var freeBytes: Int64
        var freeRatio: Double

        init(_ disk: HostFigures.Disk) {
            path = disk.path
            totalBytes = Int64(disk.totalBytes)
            freeBytes = Int64(disk.freeBytes)
            freeRatio = (disk.freeRatio * 10_000).rounded() / 10_000
        }
    }

    var load1: Double
    var load5: Double
    var load15: Double
    var memoryTotalBytes: Int64
    var memoryAvailableBytes: Int64
    var processResidentBytes: Int64
    var openFileDescriptors: Int
    var maxFileDescriptors: Int
    var bufferDisk: DiskView?
    var databaseDisk: DiskView?
    var databaseBytes: Int64?
    var uptimeSeconds: Int

    init(_ host: HostFigures, databaseBytes: Int64?, uptimeSeconds: Int) {
        load1 = host.load1
        load5 = host.load5
        load15 = host.load15
        memoryTotalBytes = Int64(host.memoryTotalBytes)
        memoryAvailableBytes = Int64(host.memoryAvailableBytes)
        processResidentBytes = Int64(host.residentBytes)
        openFileDescriptors = host.openFileDescriptors
        maxFileDescriptors = host.maxFileDescriptors
        bufferDisk = host.bufferDisk.map(DiskView.init)
        databaseDisk = host.databaseDisk.map(DiskView.init)
        self.databaseBytes = databaseBytes
        self.uptimeSeconds = uptimeSeconds
    }
}

/// An alert in the seed's shape.
public struct AlertView: Encodable, Sendable, Equatable {
    public enum Level: String, Encodable, Sendable { case error, warning, info }

    public var level: Level
    public var type: String
    public var message: String
    public var stream: String?
    public var since: Date

    public init(level: Level, type: String, message: String, stream: String?, since: Date) {
        self.level = level
        self.type = type
        self.message = message
        self.stream = stream
        self.since = since
    }
}
