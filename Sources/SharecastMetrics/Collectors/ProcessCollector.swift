import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
import SharecastSync
#endif

/// The standard `process_*` metrics and a few host figures, read at scrape time with the
/// cheapest call that gives each: getrusage, /proc/self/statm, getrlimit, getloadavg, statvfs.
/// /proc/meminfo is the one slow read (the kernel formats fifty lines), so MemAvailable is
/// refreshed at most once a second; the open descriptor count at most every 5 s.
public enum ProcessCollector {
    public static func write(into writer: inout MetricsWriter, bufferPath: String?) {
        var usage = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &usage) == 0 {
            func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
            writer.family("process_cpu_seconds", .counter, help: "User and system CPU time spent, in seconds.", unit: "seconds")
            writer.counter(.empty, seconds(usage.ru_utime) + seconds(usage.ru_stime))
        }
        if let memory = statm() {
            gauge(&writer, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "bytes", memory.virtual)
            gauge(&writer, "process_resident_memory_bytes", "Resident memory size in bytes.", "bytes", memory.resident)
        }
        if let start = startTime {
            gauge(&writer, "process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", "seconds", start)
        }
        if let open = openDescriptorsCache.value(maxAge: 5, compute: openDescriptors) {
            gauge(&writer, "process_open_fds", "Number of open file descriptors.", nil, Double(open))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            gauge(&writer, "process_max_fds", "Maximum number of open file descriptors.", nil, Double(limit.rlim_cur))
        }
        if let available = memAvailableCache.value(maxAge: 1, compute: memAvailable) {
            gauge(&writer, "sharecast_host_memory_available_bytes", "Memory available for new work on the host (MemAvailable).", "bytes", available)
        }
        if let total = memoryTotal {
            gauge(&writer, "sharecast_host_memory_total_bytes", "The host's memory (MemTotal).", "bytes", total)
        }
        var load = 0.0
        if getloadavg(&load, 1) == 1 {
            gauge(&writer, "sharecast_host_load1", "The host's one-minute load average.", nil, load)
        }
        if let bufferPath {
            var info = statvfs()
            if statvfs(bufferPath, &info) == 0 {
                gauge(&writer, "sharecast_buffer_disk_free_bytes", "Free space on the file system of shared_streaming.buffer_path.",
                      "bytes", Double(info.f_bavail) * Double(info.f_frsize))
                gauge(&writer, "sharecast_buffer_disk_size_bytes", "Size of the file system of shared_streaming.buffer_path.",
                      "bytes", Double(info.f_blocks) * Double(info.f_frsize))
            }
        }
    }

    static func gauge(_ writer: inout MetricsWriter, _ name: String, _ help: String, _ unit: String?, _ value: Double) {
        writer.family(name, .gauge, help: help, unit: unit)
        writer.gauge(.empty, value)
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

    /// Virtual and resident size from /proc/self/statm (pages), much cheaper for the kernel to
    /// produce than /proc/self/stat.
    static func statm() -> (virtual: Double, resident: Double)? {
        guard let text = readSmallFile("/proc/self/statm") else { return nil }
        let fields = text.split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, let size = Double(fields[0]), let resident = Double(fields[1]) else { return nil }
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        return (size * page, resident * page)
    }

    /// Read once: the boot time plus the process's start in clock ticks after it.
    static let startTime: Double? = {
        guard let stat = readSmallFile("/proc/self/stat"), let close = stat.lastIndex(of: ")"),
              let boot = readSmallFile("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let bootSeconds = Double(boot.dropFirst(6)) else { return nil }
        // After "pid (comm)" the state is field 3; starttime is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count >= 20, let ticks = Double(fields[19]) else { return nil }
        return bootSeconds + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
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

    static let memAvailableCache = CachedValue<Double>()

    /// Read once: the host's memory does not change while the process runs.
    static let memoryTotal: Double? = readSmallFile("/proc/meminfo").flatMap { HostFigures.meminfoField($0, "MemTotal:") }

    static func memAvailable() -> Double? {
        guard let text = readSmallFile("/proc/meminfo") else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") }
        let kilobytes = line?.split(separator: " ").dropFirst().first.flatMap { Double($0) }
        return kilobytes.map { $0 * 1024 }
    }
}

/// A value recomputed at most once per `maxAge` seconds, shared by concurrent scrapes.
public final class CachedValue<Value: Sendable>: Sendable {
    private let state = Locked<(value: Value?, at: Double)>((nil, 0))

    public init() {}

    public func value(maxAge: Double, compute: () -> Value?) -> Value? {
        let now = Date().timeIntervalSince1970
        if let cached = state.withLock({ now - $0.at < maxAge ? $0.value : nil }) { return cached }
        let fresh = compute()
        state.withLock { $0 = (fresh, now) }
        return fresh
    }
}
