#if SHARECAST_TSAN
import Glibc
#else
import Synchronization
#endif

/// A value behind a lock: the one way Sharecast shares mutable state between threads.
///
/// It is the standard library's `Mutex`, except in builds for ThreadSanitizer (`make tsan`,
/// `-DSHARECAST_TSAN`), where it is a `pthread_mutex_t`: TSan does not see `Mutex`'s futex as a
/// lock on Linux and reports every access it guards as a race, while it understands pthread
/// locks. The discipline TSan checks (which state is touched under which lock) is the same in
/// both builds.
///
/// Inlinable so each use is specialized for its value type in the caller's module: unspecialized,
/// every call looked up the generic metadata at run time (a few percent of a stream join's CPU
/// in `perf`, docs/performance.md).
///
/// `@unchecked Sendable`: every access to the value goes through `withLock`, under the lock.
public final class Locked<Value>: @unchecked Sendable {
    #if SHARECAST_TSAN
    @usableFromInline var value: Value
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>

    @inlinable
    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
    #else
    @usableFromInline let mutex: Mutex<Value>

    @inlinable
    public init(_ value: sending Value) {
        mutex = Mutex(value)
    }

    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout sending Value) throws(Failure) -> sending Result) throws(Failure) -> sending Result {
        try mutex.withLock(body)
    }
    #endif
}
