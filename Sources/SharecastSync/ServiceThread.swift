import Foundation

/// The one way Sharecast runs background work on a thread of its own: started once, woken by a
/// deadline or a `wake()`, stopped once (`stop()` returns when the body has returned).
///
/// Work driven by C libraries (libcurl's poll loop) or that must not hop onto Swift's cooperative
/// pool (blocking SQLite writes, a probe's transfer) gets a real thread; this type replaces the
/// per-subsystem copies of "running/finished atomics and sleep until finished" and their 20-50 ms
/// polling. The body waits with `wait(until:)`, which sleeps until its deadline, a wake or the
/// stop, whichever is first.
///
/// `@unchecked Sendable`: the state is only touched under `condition` (an `NSCondition`, a pthread
/// mutex and condition variable, which ThreadSanitizer understands).
public final class ServiceThread: @unchecked Sendable {
    public let name: String
    private let condition = NSCondition()
    private var started = false
    private var stopping = false
    private var finished = false
    private var woken = false
    private let body: @Sendable (ServiceThread) -> Void
    /// Called by `stop()` to interrupt a wait the body does outside `wait(until:)` (curl's poll).
    private let interrupt: (@Sendable () -> Void)?

    public init(name: String, interrupt: (@Sendable () -> Void)? = nil, _ body: @escaping @Sendable (ServiceThread) -> Void) {
        self.name = name
        self.interrupt = interrupt
        self.body = body
    }

    /// Starts the thread; later calls do nothing.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started, !stopping else { return }
        started = true
        let thread = Thread { [self] in
            body(self)
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    /// True once `stop()` was called: the body should return soon.
    public var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Sleeps until `deadline` (nil: until woken), a `wake()` or `stop()`. Returns false when the
    /// thread is stopping. A wake that came while the body was busy is not lost.
    @discardableResult
    public func wait(until deadline: ContinuousClock.Instant?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !stopping, !woken {
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { break }
                let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            } else {
                condition.wait()
            }
        }
        woken = false
        return !stopping
    }

    /// Ends the current or next `wait(until:)` early.
    public func wake() {
        condition.lock()
        woken = true
        condition.broadcast()
        condition.unlock()
    }

    /// Asks the body to return and waits until it has; later calls return at once.
    public func stop() {
        condition.lock()
        let wasStarted = started
        stopping = true
        condition.broadcast()
        condition.unlock()
        guard wasStarted else { return }
        interrupt?()
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

/// A weak reference, so a thread's body can reach its owner without keeping it alive (the owner
/// stops the thread in its own shutdown). `@unchecked Sendable`: the reference is read and
/// written under `lock` only.
public final class WeakBox<Object: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private weak var object: Object?

    public init() {}

    public var value: Object? {
        get { lock.withLock { object } }
        set { lock.withLock { object = newValue } }
    }
}
