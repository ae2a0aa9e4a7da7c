#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SharecastHTTP

/// Rendered guide documents kept as files, so `/epg.xml` is rendered from the store once per
/// change (an import, a catalog change, the UTC day the served window moves on) and is then sent
/// with `sendfile` like a static file: a 100 000-programme guide costs about what nginx pays
/// per request, not a render per media server poll.
///
/// A document is written while its first request streams it (`GuideBody` tees what it sends
/// into a `Pending` file) and becomes the entry only when it was produced whole, flushed to disk
/// and renamed into place; a client that hangs up leaves nothing. Only the newest key's files
/// stay, and they survive a restart (the key depends only on what the document holds).
struct GuideDocumentCache: Sendable {
    let directory: String

    /// Creates `directory` if needed and removes what an interrupted render left.
    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".part") {
            unlink("\(directory)/\(name)")
        }
    }

    /// The cached document `name`, opened, or nil when it is not rendered yet.
    func file(named name: String) -> ResponseFile? {
        ResponseFile(path: "\(directory)/\(name)")
    }

    /// A file to render document `name` (of cache key `key`) into; nil when it cannot be made
    /// (the request is then served without caching).
    func begin(name: String, key: String) -> Pending? {
        let temporary = "\(directory)/\(name).\(UUID().uuidString).part"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        return Pending(descriptor: descriptor, temporary: temporary, final: "\(directory)/\(name)", directory: directory, key: key)
    }

    /// A document being written. Used by one response at a time (under its body's lock).
    struct Pending: Sendable {
        private var descriptor: Int32
        let temporary: String
        let final: String
        let directory: String
        let key: String

        fileprivate init(descriptor: Int32, temporary: String, final: String, directory: String, key: String) {
            self.descriptor = descriptor
            self.temporary = temporary
            self.final = final
            self.directory = directory
            self.key = key
        }

        var isOpen: Bool { descriptor >= 0 }

        /// Appends `bytes`; a failed write (a full disk) abandons the file, not the response.
        mutating func append(_ bytes: [UInt8]) {
            guard descriptor >= 0, !bytes.isEmpty else { return }
            let written = bytes.withUnsafeBytes { raw -> Bool in
                guard let base = raw.baseAddress else { return true }
                var offset = 0
                while offset < raw.count {
                    let count = write(descriptor, base + offset, raw.count - offset)
                    if count < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    offset += count
                }
                return true
            }
            if !written { discard() }
        }

        /// Makes the written document the entry for its name and removes other keys' files.
        mutating func commit() {
            guard descriptor >= 0 else { return }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            descriptor = -1
            guard synced, rename(temporary, final) == 0 else {
                unlink(temporary)
                return
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            where !name.hasPrefix("\(key).") {
                unlink("\(directory)/\(name)")
            }
        }

        /// Drops the file (the response ended before the document was whole).
        mutating func discard() {
            guard descriptor >= 0 else { return }
            close(descriptor)
            descriptor = -1
            unlink(temporary)
        }
    }
}
