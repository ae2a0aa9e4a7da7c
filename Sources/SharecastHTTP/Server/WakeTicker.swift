import Foundation
import Synchronization
import SharecastSync

/// Wakes parked responses on a fixed period, for bodies paced by the clock rather than by a
/// producer (the test pattern, which releases packets as their send time comes).
///
/// One thread serves any number of responses: a body that has nothing due registers its waker and
/// returns `.wait`; each tick wakes everything registered since the last one.
public final class WakeTicker: Sendable {
    final class Shared: Sendable {
        let waiters = Locked<[any ResponseWaker]>([])
    }

    private let shared = Shared()
    private let thread: ServiceThread
    public let interval: Duration

    public init(interval: Duration = .milliseconds(10)) {
        self.interval = interval
        let shared = self.shared
        thread = ServiceThread(name: "sharecast-ticker") { thread in
            var batch: [any ResponseWaker] = []
            var next = ContinuousClock.now
            while !thread.isStopping {
                next += interval
                if next < .now { next = .now }
                guard thread.wait(until: next) else { break }
                shared.waiters.withLock { swap(&batch, &$0) }
                for waker in batch { waker.wake() }
                batch.removeAll(keepingCapacity: true)
            }
            // Nobody is left waiting forever.
            for waker in shared.waiters.withLock({ $0 }) { waker.wake() }
        }
        thread.start()
    }

    /// Wakes `waker` at the next tick.
    public func wakeNext(_ waker: any ResponseWaker) {
        shared.waiters.withLock { $0.append(waker) }
    }

    public func stop() {
        thread.stop()
    }

    deinit {
        stop()
    }
}
