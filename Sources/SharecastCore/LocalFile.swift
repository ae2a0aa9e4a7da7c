#if canImport(Glibc)
import Glibc
#endif

/// Why a local file could not be read, in the system's words (`No such file or directory`).
public struct FileReadError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Reads whole local files with plain POSIX calls, so that errors carry errno's text on every platform.
public enum LocalFile {
    /// Refuse files larger than this (a playlist or config that big is a mistake, not data).
    public static let defaultLimit = 256 * 1024 * 1024

    public static func read(_ path: String, limit: Int = defaultLimit) throws(FileReadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileReadError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw FileReadError(path: path, reason: "is a directory")
        }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileReadError(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            result += chunk[0..<count]
            if result.count > limit { throw FileReadError(path: path, reason: "larger than \(limit) bytes") }
        }
        return result
    }
}
