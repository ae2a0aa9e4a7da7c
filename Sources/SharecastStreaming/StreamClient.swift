import Foundation
import SharecastCore
import SharecastHTTP
import Synchronization
import SharecastSync

/// One viewer of a shared stream: the response body the direct delivery sends in place (or MHD
/// pulls from, with `direct_delivery: false`). Its cursor into the session's ring is touched
/// only by the one thread serving this connection; what others read (bytes sent, last progress)
/// is atomic.
final class StreamClient: InPlaceStreamingBody, @unchecked Sendable {
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
        cursor = session.buffer.joinPosition(backlog: session.joinBacklogBytes)
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
            if let result = outcome(session.buffer.read(from: &cursor, into: buffer, waker: waker), skipping: {}) { return result }
        }
    }

    /// What the ring's answer means for the response; nil when the viewer was skipped forward
    /// (lag policy `skip`) and the ring is to be asked again. `skipping` runs before the jump.
    private func outcome(_ result: SharedBuffer.ReadResult, skipping: () -> Void) -> StreamRead? {
        switch result {
        case let .bytes(count):
            return delivered(count)
        case .caughtUp:
            return .wait
        case .lapped:
            guard session.lagPolicy == .skip else {
                end(.lagging)
                return .end
            }
            skipping()
            cursor = session.buffer.newestJoinPosition()
            session.metrics.clientsSkipped.increment()
            return nil
        case .ended:
            end(.streamStopped)
            return .end
        }
    }

    /// Bytes owed before the ring resumes: the rest of a packet that a partial send cut when the
    /// viewer was skipped forward. Delivery thread only, like `cursor`.
    private var tail: [UInt8] = []
    private var tailSent = 0

    /// The direct delivery's path: the ring's bytes go to `transmit` where they lie.
    func send(_ transmit: (UnsafeRawBufferPointer) -> Int, waker: any ResponseWaker) -> StreamRead {
        if reason != .none { return .end }
        if tailSent < tail.count {
            let taken = tail.withUnsafeBytes { raw in transmit(UnsafeRawBufferPointer(rebasing: raw[tailSent...])) }
            tailSent += max(taken, 0)
            if tailSent >= tail.count {
                tail = []
                tailSent = 0
            }
            return delivered(max(taken, 0))
        }
        while true {
            let result = session.buffer.sendInPlace(from: &cursor, limit: Self.sendLimit, waker: waker, transmit)
            if let done = outcome(result, skipping: {
                tail = session.buffer.restOfPacket(at: cursor)
                tailSent = 0
            }) { return done }
            // The packet the skip cut goes first, at the next turn.
            if !tail.isEmpty { return .bytes(0) }
        }
    }

    /// At most this much per send: the socket's buffer takes less anyway.
    static let sendLimit = 256 * 1024

    private func delivered(_ count: Int) -> StreamRead {
        guard count > 0 else { return .bytes(0) }
        session.counters.sentBytes.wrappingAdd(UInt64(count), ordering: .relaxed)
        if bytesSent.add(Int64(count), ordering: .relaxed).oldValue == 0 {
            let wait = ContinuousClock.now - requestedAt
            session.metrics.joinLatency.observe(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
        }
        lastProgress.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
        return .bytes(count)
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
        // No reason given: the viewer left, or stopped taking bytes for client_timeout.
        let idle = DispatchTime.now().uptimeNanoseconds &- lastProgress.load(ordering: .relaxed)
        let why = recordedReason ?? (idle >= UInt64(session.clientTimeoutSeconds) * 1_000_000_000 ? .timeout : .closed)
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
