import Foundation
import SharecastCore
import SharecastHTTP
import Synchronization
import SharecastSync

/// One viewer of a shared stream: the response body MHD pulls from. Its cursor into the session's
/// ring is touched only by the MHD thread serving this connection; what others read (bytes sent,
/// last progress) is atomic.
final class StreamClient: StreamingBody, @unchecked Sendable {
    enum EndReason: UInt8 {
        case none = 0, lagging, streamStopped, kicked, shutdown, timeout, closed, zapped
    }

    let id = RandomID.uuid()
    let ip: String
    let userAgent: String?
    /// The user whose personal playlist the viewer came from.
    let user: String?
    let connectedAt = Date()
    let session: ChannelSession
    private var cursor: Int64
    private let startCursor: Int64
    let bytesSent = Atomic<Int64>(0)
    /// Monotonic nanoseconds of the last read that moved data.
    let lastProgress = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
    private let endReason = Atomic<UInt8>(EndReason.none.rawValue)
    /// The instant the connection asked, for join-latency measurements.
    let requestedAt: ContinuousClock.Instant

    init(session: ChannelSession, ip: String, userAgent: String?, user: String? = nil, requestedAt: ContinuousClock.Instant) {
        self.session = session
        self.ip = ip
        self.user = user
        self.userAgent = userAgent
        self.requestedAt = requestedAt
        cursor = session.buffer.joinPosition()
        startCursor = cursor
        session.viewerObjects.add(1, ordering: .relaxed)
    }

    deinit {
        session.viewerObjects.subtract(1, ordering: .relaxed)
    }

    /// Where the cursor is, from the bytes sent (readable from any thread, unlike `cursor`).
    /// Skips forward make it an underestimate, which only makes the fill figure cautious.
    var cursorEstimate: Int64 { startCursor + bytesSent.load(ordering: .relaxed) }

    /// The connection this viewer is served on; set before the first read (and while a held answer
    /// waits), and let go when the response ends: the connection holds this body, so keeping it
    /// past the end was a cycle that leaked both (~400 bytes a viewer, never freed).
    private let connection = Locked<(any ResponseConnection)?>(nil)

    func opened(_ connection: any ResponseConnection) {
        self.connection.withLock { $0 = connection }
    }

    /// Ends the response at its next read (server shutdown, an operator's kick). The first reason
    /// given wins.
    func end(_ reason: EndReason) {
        _ = endReason.compareExchange(expected: EndReason.none.rawValue, desired: reason.rawValue, ordering: .acquiringAndReleasing)
    }

    /// Ends the response now, also when its client stopped reading and MHD will not call `read`.
    func drop(_ reason: EndReason) {
        end(reason)
        connection.withLock { $0 }?.abort()
    }

    /// True when the client has hung up while its connection was parked.
    var hasHungUp: Bool { connection.withLock { $0 }?.isPeerGone ?? false }

    /// Seconds since the viewer last took bytes.
    var secondsSinceProgress: Double {
        Double(DispatchTime.now().uptimeNanoseconds &- lastProgress.load(ordering: .relaxed)) / 1e9
    }

    var reason: EndReason { EndReason(rawValue: endReason.load(ordering: .acquiring)) ?? .none }

    func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead {
        if reason != .none { return .end }
        while true {
            switch session.buffer.read(from: &cursor, into: buffer, waker: waker) {
            case let .bytes(count):
                session.counters.sentBytes.wrappingAdd(UInt64(count), ordering: .relaxed)
                if bytesSent.add(Int64(count), ordering: .relaxed).oldValue == 0 {
                    let wait = ContinuousClock.now - requestedAt
                    session.metrics.joinLatency.observe(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
                }
                lastProgress.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                return .bytes(count)
            case .caughtUp:
                return .wait
            case .lapped:
                guard session.lagPolicy == .skip else {
                    end(.lagging)
                    return .end
                }
                cursor = session.buffer.newestJoinPosition()
                session.metrics.clientsSkipped.increment()
            case .ended:
                end(.streamStopped)
                return .end
            }
        }
    }

    /// The reason given by `end` or `drop`, if any, as it is recorded.
    var recordedReason: ClientSnapshot.DisconnectReason? {
        switch reason {
        case .none: nil
        case .lagging: .lagging
        case .streamStopped: .streamStopped
        case .kicked: .kicked
        case .shutdown: .shutdown
        case .timeout: .timeout
        case .closed: .closed
        case .zapped: .zapped
        }
    }

    /// Lets go of the connection (the response is over, or was never sent).
    func releaseConnection() {
        connection.withLock { $0 = nil }
    }

    func close(bytesSent: Int64, completed: Bool) {
        releaseConnection()
        let why: ClientSnapshot.DisconnectReason
        switch reason {
        case .lagging: why = .lagging
        case .streamStopped: why = .streamStopped
        case .kicked: why = .kicked
        case .shutdown: why = .shutdown
        case .timeout: why = .timeout
        case .closed: why = .closed
        case .zapped: why = .zapped
        case .none:
            let idle = DispatchTime.now().uptimeNanoseconds &- lastProgress.load(ordering: .relaxed)
            why = idle >= UInt64(session.clientTimeoutSeconds) * 1_000_000_000 ? .timeout : .closed
        }
        session.detach(self, reason: why)
    }

    func snapshot(disconnectedAt: Date? = nil, reason: ClientSnapshot.DisconnectReason? = nil) -> ClientSnapshot {
        let idleNanoseconds = DispatchTime.now().uptimeNanoseconds &- lastProgress.load(ordering: .relaxed)
        return ClientSnapshot(
            id: id, ip: ip, userAgent: userAgent, connectedAt: connectedAt,
            lastActivityAt: Date(timeIntervalSinceNow: -Double(idleNanoseconds) / 1e9),
            disconnectedAt: disconnectedAt, bytesSent: bytesSent.load(ordering: .relaxed), disconnectReason: reason,
            user: user
        )
    }
}
