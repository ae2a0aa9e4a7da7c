import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics and a few host figures, read from /proc at scrape time.
public enum ProcessCollector {
    public static func families(bufferPath: String?) -> [MetricFamily] {
        var families: [MetricFamily] = []
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = procStat() {
            families.append(MetricFamily(name: "process_cpu_seconds", kind: .counter, help: "User and system CPU time spent, in seconds.",
                                         unit: "seconds", series: [.init(value: .counter((stat.utime + stat.stime) / ticks, created: nil))]))
            families.append(gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", "bytes", stat.vsize))
            families.append(gauge("process_resident_memory_bytes", "Resident memory size in bytes.", "bytes", stat.rss * page))
            if let boot = Self.bootTime {
                families.append(gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", "seconds",
                                      boot + stat.starttime / ticks))
            }
        }
        if let open = openDescriptorsCache.value(maxAge: 5, compute: openDescriptors) {
            families.append(gauge("process_open_fds", "Number of open file descriptors.", nil, Double(open)))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(gauge("process_max_fds", "Maximum number of open file descriptors.", nil, Double(limit.rlim_cur)))
        }
        if let available = memAvailable() {
            families.append(gauge("sharecast_host_memory_available_bytes", "Memory available for new work on the host (MemAvailable).", "bytes", available))
        }
        if let load = readSmallFile("/proc/loadavg"), let first = load.split(separator: " ").first, let value = Double(first) {
            families.append(gauge("sharecast_host_load1", "The host's one-minute load average.", nil, value))
        }
        if let bufferPath {
            var info = statvfs()
            if statvfs(bufferPath, &info) == 0 {
                families.append(gauge("sharecast_buffer_disk_free_bytes", "Free space on the file system of shared_streaming.buffer_path.",
                                      "bytes", Double(info.f_bavail) * Double(info.f_frsize)))
            }
        }
        return families
    }

    /// Listing /proc/self/fd costs about a microsecond per descriptor in the kernel: with thousands
    /// of viewers that was most of a scrape, so the count is refreshed at most every 5 s.
    static let openDescriptorsCache = CachedValue<Int>()

    /// Entries of /proc/self/fd, less the directory stream's own descriptor.
    static func openDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1
    }

    static func gauge(_ name: String, _ help: String, _ unit: String?, _ value: Double) -> MetricFamily {
        MetricFamily(name: name, kind: .gauge, help: help, unit: unit, series: [.init(value: .gauge(value))])
    }

    struct Stat {
        var utime: Double, stime: Double, starttime: Double, vsize: Double, rss: Double
    }

    /// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses).
    static func procStat() -> Stat? {
        guard let text = readSmallFile("/proc/self/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ").compactMap { Double($0) }
        // After "pid (comm)": state is field 3 (not numeric, so dropped); utime is field 14.
        guard fields.count >= 22 else { return nil }
        return Stat(utime: fields[10], stime: fields[11], starttime: fields[18], vsize: fields[19], rss: fields[20])
    }

    /// Read once: the boot time does not change while the process runs.
    static let bootTime: Double? = {
        guard let text = readSmallFile("/proc/stat") else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("btime ") }
        return line.flatMap { Double($0.dropFirst(6)) }
    }()

    /// A /proc file in one read(2), without Foundation's file machinery (scrapes read several).
    static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 16384)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    static func memAvailable() -> Double? {
        guard let text = readSmallFile("/proc/meminfo") else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") }
        let kilobytes = line?.split(separator: " ").dropFirst().first.flatMap { Double($0) }
        return kilobytes.map { $0 * 1024 }
    }
}

/// A value recomputed at most once per `maxAge` seconds, shared by concurrent scrapes.
public final class CachedValue<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, at: Double)>((nil, 0))

    public init() {}

    public func value(maxAge: Double, compute: () -> Value?) -> Value? {
        let now = Date().timeIntervalSince1970
        if let cached = state.withLock({ now - $0.at < maxAge ? $0.value : nil }) { return cached }
        let fresh = compute()
        state.withLock { $0 = (fresh, now) }
        return fresh
    }
}
