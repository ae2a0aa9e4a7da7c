#if canImport(Glibc)
import Glibc
#endif
import SharecastCore
import Synchronization

/// The memory behind one session's ring: an mmap of a file under `buffer_path` (so buffer use shows
/// on disk and a crash leaves files that `RingStorage.removeStale` cleans up), or anonymous memory
/// when no directory is given or it cannot be used.
///
/// The one owner of the mapping and the file. The file goes when the stream ends (`removeFile`:
/// viewers still draining keep reading the mapping, which outlives its name) or at the latest in
/// `deinit`; the mapping goes in `deinit`. Each ring has a file name of its own (channel id plus a
/// random part), so a channel restarted while its old session drains never shares or truncates
/// the old file.
///
/// `@unchecked Sendable`: `base`, `capacity` and `path` never change; the bytes behind `base` are
/// written and read only under the owning `SharedBuffer`'s lock, and `removed` is atomic.
final class RingStorage: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    /// The backing file, or nil for anonymous memory.
    let path: String?
    private let removed = Atomic<Bool>(false)

    /// The backing file while it exists.
    var existingPath: String? { removed.load(ordering: .acquiring) ? nil : path }

    /// Removes the backing file now; the mapping stays readable. Idempotent.
    func removeFile() {
        guard let path, !removed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        unlink(path)
    }

    /// File names start with this and carry the owning process id, so stale ones can be told apart.
    static let filePrefix = "sharecast-ring-"

    init?(capacity: Int, directory: String?, name: String) {
        self.capacity = capacity
        if let directory, let mapped = Self.mapFile(capacity: capacity, directory: directory, name: name) {
            base = mapped.base
            path = mapped.path
            return
        }
        let memory = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let memory, memory != MAP_FAILED else { return nil }
        base = memory
        path = nil
    }

    private static func mapFile(capacity: Int, directory: String, name: String) -> (base: UnsafeMutableRawPointer, path: String)? {
        mkdir(directory, 0o755)
        let unique = RandomID.uuid().lowercasedString.prefix(8)
        let path = "\(directory)/\(filePrefix)\(getpid())-\(name)-\(unique).ts"
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(capacity)) == 0 else {
            unlink(path)
            return nil
        }
        let memory = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let memory, memory != MAP_FAILED else {
            unlink(path)
            return nil
        }
        return (memory, path)
    }

    deinit {
        munmap(base, capacity)
        removeFile()
    }

    /// Removes ring files in `directory` that no session of this process owns (`owned` paths) and
    /// that are older than `minimumAge` (so a ring being created right now is safe), plus those of
    /// processes that no longer run. Returns their names.
    static func removeOrphans(in directory: String, owned: Set<String>, minimumAge: Double) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var removed: [String] = []
        let now = Double(time(nil))
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(filePrefix) else { continue }
            let path = "\(directory)/\(name)"
            guard !owned.contains(path) else { continue }
            let pidText = name.dropFirst(filePrefix.count).prefix { $0 != "-" }
            let deadOwner = Int32(pidText).map { $0 != getpid() && kill($0, 0) != 0 && errno == ESRCH } ?? false
            var info = stat()
            let age = stat(path, &info) == 0 ? now - Double(info.st_mtim.tv_sec) : 0
            if deadOwner || (Int32(pidText) == getpid() && age >= minimumAge) {
                if unlink(path) == 0 { removed.append(name) }
            }
        }
        return removed
    }

    /// Removes ring files in `directory` left by processes that no longer run. Returns their names.
    @discardableResult
    static func removeStale(in directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var removed: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(filePrefix) else { continue }
            let pidText = name.dropFirst(filePrefix.count).prefix { $0 != "-" }
            guard let pid = Int32(pidText), pid != getpid() else { continue }
            // kill(pid, 0) fails with ESRCH when no such process exists.
            if kill(pid, 0) != 0, errno == ESRCH {
                unlink("\(directory)/\(name)")
                removed.append(name)
            }
        }
        return removed
    }
}
