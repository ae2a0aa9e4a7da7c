#if canImport(Glibc)
import Glibc
#endif

/// A response body in `malloc` memory that libmicrohttpd takes over and frees once sent, so a
/// large generated body (a metrics scrape) is not copied on its way out.
///
/// Freed here if the response is never queued.
///
/// `@unchecked Sendable`: the memory is written once, by the handler that made it, before the
/// value is shared; after that the server takes it once, on the thread that queues the response,
/// or it is freed in `deinit`.
public final class ResponseMemory: @unchecked Sendable {
    // One owner at a time: the server takes the memory once, when it queues the response.
    private var memory: UnsafeMutableRawPointer?
    public let count: Int

    /// `memory` must come from `malloc`; this object (then the server) owns it from now on.
    public init(takingMallocated memory: UnsafeMutableRawPointer, count: Int) {
        self.memory = memory
        self.count = count
    }

    deinit {
        free(memory)
    }

    func take() -> UnsafeMutableRawPointer? {
        defer { memory = nil }
        return memory
    }
}
