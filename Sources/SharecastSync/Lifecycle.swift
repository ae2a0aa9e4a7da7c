import Foundation
import Logging

/// A subsystem that runs in the background: one owner that starts, stops and reports in one way.
public protocol BackgroundService: AnyObject, Sendable {
    var serviceName: String { get }
    /// Starts the work; called once, in the lifecycle's order.
    func startService()
    /// Stops the work and returns when it has stopped; called once, in reverse order.
    func stopService()
}

/// Sharecast's background work as one list: started in its order, stopped in the reverse order,
/// each step logged, and what runs at any moment reported (`states`).
///
/// Why not swift-service-lifecycle's `ServiceGroup`: Sharecast's services are threads driven by C
/// libraries (libmicrohttpd's epoll threads, libcurl's poll loop) and blocking SQLite writes,
/// started from a synchronous `Application.init` that tests call in-process; `ServiceGroup`
/// wants each as an `async run()` that lives on the cooperative pool for the program's life,
/// which for these would mean a task parked on a continuation beside the real thread. What the
/// group gives (an order for start and stop, one shutdown path, signals handled once) this type
/// gives in fifty lines, and the executable handles SIGTERM/SIGINT/SIGHUP itself.
public final class Lifecycle: Sendable {
    public enum State: String, Sendable { case idle, running, stopped }

    private let services: [any BackgroundService]
    private let states: Locked<[State]>
    private let logger: Logger

    /// `services` in start order; they stop in the reverse order.
    public init(services: [any BackgroundService], logger: Logger) {
        self.services = services
        states = Locked(Array(repeating: .idle, count: services.count))
        self.logger = logger
    }

    public func start() {
        for (index, service) in services.enumerated() {
            let go = states.withLock { states -> Bool in
                guard states[index] == .idle else { return false }
                states[index] = .running
                return true
            }
            guard go else { continue }
            service.startService()
            logger.debug("service started", metadata: ["service": "\(service.serviceName)"])
        }
    }

    /// Stops every running service, last started first. Safe to call more than once.
    public func shutdown() {
        for (index, service) in services.enumerated().reversed() {
            let stop = states.withLock { states -> Bool in
                defer { if states[index] != .idle { states[index] = .stopped } }
                return states[index] == .running
            }
            guard stop else { continue }
            let started = ContinuousClock.now
            service.stopService()
            let elapsed = ContinuousClock.now - started
            logger.debug("service stopped", metadata: ["service": "\(service.serviceName)", "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)"])
        }
    }

    /// Each service's name and state, in start order.
    public var report: [(name: String, state: State)] {
        let current = states.withLock { $0 }
        return zip(services, current).map { ($0.serviceName, $1) }
    }
}

/// A service made of closures, for owners whose start and stop are one call each.
public final class ClosureService: BackgroundService {
    public let serviceName: String
    private let start: @Sendable () -> Void
    private let stop: @Sendable () -> Void

    public init(_ name: String, start: @escaping @Sendable () -> Void = {}, stop: @escaping @Sendable () -> Void) {
        serviceName = name
        self.start = start
        self.stop = stop
    }

    public func startService() { start() }
    public func stopService() { stop() }
}
