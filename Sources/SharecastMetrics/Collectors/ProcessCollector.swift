import Foundation
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
            if let boot = bootTime() {
                families.append(gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", "seconds",
                                      boot + stat.starttime / ticks))
            }
        }
        if let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            families.append(gauge("process_open_fds", "Number of open file descriptors.", nil, Double(open.count)))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(gauge("process_max_fds", "Maximum number of open file descriptors.", nil, Double(limit.rlim_cur)))
        }
        if let available = memAvailable() {
            families.append(gauge("sharecast_host_memory_available_bytes", "Memory available for new work on the host (MemAvailable).", "bytes", available))
        }
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8), let first = load.split(separator: " ").first, let value = Double(first) {
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

    static func gauge(_ name: String, _ help: String, _ unit: String?, _ value: Double) -> MetricFamily {
        MetricFamily(name: name, kind: .gauge, help: help, unit: unit, series: [.init(value: .gauge(value))])
    }

    struct Stat {
        var utime: Double, stime: Double, starttime: Double, vsize: Double, rss: Double
    }

    /// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses).
    static func procStat() -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ").compactMap { Double($0) }
        // After "pid (comm)": state is field 3 (not numeric, so dropped); utime is field 14.
        guard fields.count >= 22 else { return nil }
        return Stat(utime: fields[10], stime: fields[11], starttime: fields[18], vsize: fields[19], rss: fields[20])
    }

    static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("btime ") }
        return line.flatMap { Double($0.dropFirst(6)) }
    }

    static func memAvailable() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") }
        let kilobytes = line?.split(separator: " ").dropFirst().first.flatMap { Double($0) }
        return kilobytes.map { $0 * 1024 }
    }
}
