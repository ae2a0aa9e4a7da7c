import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The host and process figures the monitor API and health checks show, read with the same
/// cheap calls as the `process_*` metrics.
public struct HostFigures: Sendable, Equatable {
    public struct Disk: Sendable, Equatable {
        public var path: String
        public var totalBytes: Double
        public var freeBytes: Double
        public var freeRatio: Double { totalBytes > 0 ? freeBytes / totalBytes : 0 }

        public init(path: String, totalBytes: Double, freeBytes: Double) {
            self.path = path
            self.totalBytes = totalBytes
            self.freeBytes = freeBytes
        }
    }

    public var load1 = 0.0, load5 = 0.0, load15 = 0.0
    public var memoryTotalBytes = 0.0
    public var memoryAvailableBytes = 0.0
    public var residentBytes = 0.0
    public var openFileDescriptors = 0
    public var maxFileDescriptors = 0
    public var bufferDisk: Disk?
    public var databaseDisk: Disk?

    public init() {}

    /// `bufferPath` and `databasePath` name the directories (or files) whose file systems to report.
    public static func current(bufferPath: String?, databasePath: String?) -> HostFigures {
        var figures = HostFigures()
        var loads = [0.0, 0.0, 0.0]
        if getloadavg(&loads, 3) == 3 { (figures.load1, figures.load5, figures.load15) = (loads[0], loads[1], loads[2]) }
        if let text = ProcessCollector.readSmallFile("/proc/meminfo") {
            figures.memoryTotalBytes = meminfoField(text, "MemTotal:") ?? 0
            figures.memoryAvailableBytes = meminfoField(text, "MemAvailable:") ?? 0
        }
        figures.residentBytes = ProcessCollector.statm()?.resident ?? 0
        figures.openFileDescriptors = ProcessCollector.openDescriptorsCache.value(maxAge: 5, compute: ProcessCollector.openDescriptors) ?? 0
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { figures.maxFileDescriptors = Int(clamping: limit.rlim_cur) }
        figures.bufferDisk = bufferPath.flatMap(disk)
        figures.databaseDisk = databasePath.flatMap { disk(URL(fileURLWithPath: $0).deletingLastPathComponent().path) }
        return figures
    }

    static func disk(_ path: String) -> Disk? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Disk(path: path, totalBytes: Double(info.f_blocks) * Double(info.f_frsize), freeBytes: Double(info.f_bavail) * Double(info.f_frsize))
    }

    static func meminfoField(_ text: String, _ name: String) -> Double? {
        let line = text.split(separator: "\n").first { $0.hasPrefix(name) }
        return line?.split(separator: " ").dropFirst().first.flatMap { Double($0) }.map { $0 * 1024 }
    }
}
