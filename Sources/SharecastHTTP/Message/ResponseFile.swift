#if canImport(Glibc)
import Glibc
#endif

/// A response body read from an open file, which libmicrohttpd sends with `sendfile` (the
/// kernel moves the pages; nothing is copied through user space) and closes once sent.
///
/// Closed here if the response is never queued.
///
/// `@unchecked Sendable`: the descriptor is set once, at init; after that the server takes it
/// once, on the thread that queues the response, or it is closed in `deinit`.
public final class ResponseFile: @unchecked Sendable {
    // One owner at a time: the server takes the descriptor once, when it queues the response.
    private var descriptor: Int32
    public let size: UInt64

    /// Opens `path` for reading; nil when it cannot be opened or is not a regular file.
    public init?(path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size >= 0 else {
            Glibc.close(fd)
            return nil
        }
        descriptor = fd
        size = UInt64(info.st_size)
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    func take() -> Int32 {
        defer { descriptor = -1 }
        return descriptor
    }
}
