#if canImport(Glibc)
import Glibc
#endif

/// A scrape's bytes in `malloc` memory, so the HTTP layer can send them without copying them
/// again: at thousands of series a scrape is over 100 KiB, and each copy of it was a measurable
/// part of a scrape served while the same process streams to its viewers.
///
/// Whoever calls `take()` owns the memory and frees it with `free()`; otherwise it is freed here.
///
/// `@unchecked Sendable`: written only by the scrape that builds it, before it is handed on; the
/// HTTP layer then takes it once, on one thread.
public final class ExposedBytes: @unchecked Sendable {
    // One owner at a time: `take()` is called at most once, by the code that sends the scrape.
    private var memory: UnsafeMutableRawPointer?
    public let count: Int

    init(mallocated memory: UnsafeMutableRawPointer, count: Int) {
        self.memory = memory
        self.count = count
    }

    deinit {
        free(memory)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: memory, count: memory == nil ? 0 : count))
    }

    /// A copy, for callers that want an array (tests, the rule evaluator's sampler).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Hands the memory over; nil when it was already taken.
    public func take() -> (memory: UnsafeMutableRawPointer, count: Int)? {
        guard let memory else { return nil }
        self.memory = nil
        return (memory, count)
    }
}
