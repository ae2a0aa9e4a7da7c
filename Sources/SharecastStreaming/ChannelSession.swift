import Foundation
import Logging
import SharecastCore
import SharecastMetrics
import SharecastTS
import SharecastUpstream
import Synchronization
import SharecastSync

/// One channel's upstream session: one source, one ring, any number of viewers.
///
/// The source writes through `sourceReceived` on the upstream loop thread (aligning bytes into whole
/// packets, then into the ring); viewers read the ring on MHD threads; everything slower (status,
/// counters for history) sits behind `state` and is read by the manager's housekeeping.
///
/// The type is split by concern: the source side (`ChannelSession+Source`), viewers
/// (`ChannelSession+Viewers`) and snapshots (`ChannelSession+Snapshot`); the members they share
/// are internal rather than private for that, and keep the threading rules written on them.
public final class ChannelSession: SourceSink, @unchecked Sendable {
    struct State {
        var status: StreamSnapshot.Status = .starting
        var clients: [UUID: StreamClient] = [:]
        /// Viewers that left since the last snapshot, with their final figures.
        var departed: [ClientSnapshot] = []
        var departedBytes: Int64 = 0
        var peakClients = 0
        var idleSince: ContinuousClock.Instant?
        var stoppedAt: Date?
        var lastError: String?
        var errorCount = 0
        var restartCount = 0
        var lastDataAt: Date?
        var connected = false
        /// For the bandwidth figure: bytes in at each recording of the last `rateWindow`, oldest
        /// first (starting with none at creation).
        var rateSamples: [(at: ContinuousClock.Instant, bytesIn: Int64)] = [(ContinuousClock.now, 0)]
        /// The upstream has delivered TS at least once: new viewers are answered at once.
        var hasDelivered = false
        var lastFailure: UpstreamFailure?
        /// Viewers whose answer waits for the first bytes (or a failure, or their deadline).
        var startWaiters: [StartWaiter] = []
    }

    public let id = RandomID.uuid()
    public let channel: CatalogChannel
    public let startedAt = Date()
    /// Monotonic nanoseconds at creation, for "no data since start" checks.
    let startedUptime = DispatchTime.now().uptimeNanoseconds
    let buffer: SharedBuffer
    let lagPolicy: LagPolicy
    let clientTimeoutSeconds: Int
    let joinBacklogSeconds: Int

    /// Bytes of the backlog at the stream's rate measured from its PCRs (0 until measured: the
    /// newest keyframe then).
    var joinBacklogBytes: Int64 {
        let bitsPerSecond = counters.bitrate.load(ordering: .relaxed)
        guard bitsPerSecond > 0 else { return 0 }
        let (bytes, overflow) = (bitsPerSecond / 8).multipliedReportingOverflow(by: Int64(joinBacklogSeconds))
        return overflow ? Int64.max : bytes
    }
    let logger: Logger
    /// Replaced by an operator's restart, read by snapshots on other threads.
    let sourceBox = Locked<(any ChannelSource)?>(nil)
    var source: (any ChannelSource)? { sourceBox.withLock { $0 } }
    let state = Locked(State())
    /// Written by the upstream loop thread only.
    var aligner = TSPacketAligner()
    let bytesIn = Atomic<Int64>(0)
    let lastDataNanoseconds = Atomic<UInt64>(0)
    /// Set by housekeeping while the upstream is quiet past the stall threshold.
    let stalled = Atomic<Bool>(false)
    /// When housekeeping last told the source of a stall (monotonic nanoseconds).
    let stallHandledNanoseconds = Atomic<UInt64>(0)
    let counters: ChannelCounters
    let metrics: StreamingMetrics
    /// The provider login's slot this session holds (nil: its channel needs none). Changed when
    /// the provider refuses the login and another one is free.
    let slot = Locked<SlotLease?>(nil)
    /// The slot came from a session stopped to make room: the provider may still count that
    /// session's connection for a moment, so a refusal before the first bytes is expected.
    let slotInherited = Atomic<Bool>(false)
    /// The URLs the source opens, resolved at each connect (primary or backup, for the gauge).
    let upstreamURLs = Locked<UpstreamURLs?>(nil)
    /// Hooks the manager sets: the session has ended (its source stopped), and the provider
    /// refused the login the session uses.
    let hooks = Locked<(finished: (@Sendable () -> Void)?, loginRefused: (@Sendable (UpstreamFailure) -> Void)?)>((nil, nil))
    /// Viewer objects alive (attached or not yet freed), so tests can see that none outlives its
    /// connection.
    let viewerObjects = Atomic<Int>(0)
    /// The bandwidth figure is the mean over this long. HLS arrives in bursts (a 6 s segment in a
    /// fraction of a second), so a per-second figure read 0 most of the time and many times the
    /// real rate in between; half a minute holds several segments of any usual length.
    static let rateWindow: Duration = .seconds(30)

    init(channel: CatalogChannel, buffer: SharedBuffer, lagPolicy: LagPolicy, clientTimeoutSeconds: Int, joinBacklogSeconds: Int = 0,
         metrics: StreamingMetrics, logger: Logger) {
        self.joinBacklogSeconds = joinBacklogSeconds
        self.channel = channel
        self.metrics = metrics
        counters = metrics.channel(channel.id)
        self.buffer = buffer
        self.lagPolicy = lagPolicy
        self.clientTimeoutSeconds = clientTimeoutSeconds
        var logger = logger
        logger[metadataKey: "channel"] = "\(channel.id)"
        self.logger = logger
        // The newest session of a channel owns its published gauges.
        counters.lastDataNanoseconds.store(0, ordering: .relaxed)
        counters.bufferFillBits.store(0, ordering: .relaxed)
        counters.onBackup.store(false, ordering: .relaxed)
        counters.bitrate.store(0, ordering: .relaxed)
        let live = ChannelCounters.LiveFigures(owner: ObjectIdentifier(self), status: .starting, clients: 0,
                                               startedAt: (startedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        counters.live.withLock { $0 = live }
    }

    /// Publishes the gauges a scrape reads; called under `state`'s lock after each change, and
    /// only while this session owns them. A finished session withdraws them (its gauges read 0).
    func publish(_ state: State) {
        let owner = ObjectIdentifier(self)
        let finished = state.status == .stopped || state.status == .error
        counters.live.withLock { live in
            guard live?.owner == owner else { return }
            if finished {
                live = nil
            } else {
                live?.status = state.status
                live?.clients = state.clients.count
            }
        }
    }

    /// A viewer's held answer: `done` runs once, with what to tell the player.
    struct StartWaiter {
        let deadline: ContinuousClock.Instant
        let timeoutSeconds: Int
        let done: @Sendable (StartOutcome) -> Void
    }

    /// Runs `done` once the upstream has delivered (at once if it has), has failed for good, or
    /// `timeout` has passed; on the session's own threads, never under its lock.
    func whenStarted(timeout: Duration, _ done: @escaping @Sendable (StartOutcome) -> Void) {
        let now = state.withLock { state -> StartOutcome? in
            if state.hasDelivered { return .ready }
            if state.status == .stopped || state.status == .error { return Self.failure(state, timedOutAfter: nil) }
            state.startWaiters.append(StartWaiter(deadline: .now + timeout, timeoutSeconds: Int(timeout.components.seconds), done: done))
            return nil
        }
        if let now { done(now) }
    }

    /// Answers the viewers whose deadline has passed (housekeeping).
    func expireStartWaiters(now: ContinuousClock.Instant = .now) {
        let expired = state.withLock { state -> [(StartWaiter, StartOutcome)] in
            guard !state.startWaiters.isEmpty else { return [] }
            let due = state.startWaiters.filter { $0.deadline <= now }
            state.startWaiters.removeAll { $0.deadline <= now }
            return due.map { ($0, Self.failure(state, timedOutAfter: $0.timeoutSeconds)) }
        }
        for (waiter, outcome) in expired { waiter.done(outcome) }
    }

    func takeStartWaiters(_ outcome: (State) -> StartOutcome) -> [(StartWaiter, StartOutcome)] {
        state.withLock { state in
            defer { state.startWaiters.removeAll() }
            let result = outcome(state)
            return state.startWaiters.map { ($0, result) }
        }
    }

    /// What a viewer is told when the upstream has not delivered: 502 when it failed (its last
    /// failure named), 504 when it is still trying or stalled, 503 when the stream was stopped.
    static func failure(_ state: State, timedOutAfter seconds: Int?) -> StartOutcome {
        let last = state.lastFailure.map { ": \($0.message)" } ?? ""
        if let seconds {
            let status = state.lastFailure.map { $0.kind == .stall ? 504 : 502 } ?? 504
            return .failed(status: status, code: "upstream_timeout", message: "the upstream sent no data within \(seconds) s\(last)")
        }
        if state.status == .error {
            return .failed(status: state.lastFailure?.kind == .stall ? 504 : 502, code: "upstream_failed",
                           message: "the upstream failed before sending any data: \(state.lastError ?? state.lastFailure?.message ?? "unknown")")
        }
        return .failed(status: 503, code: "stream_stopped", message: "the stream was stopped before it started")
    }

    /// Attaches and starts the source; called once by the manager right after creation.
    func start(with source: any ChannelSource) {
        sourceBox.withLock { $0 = source }
        logger.info("stream starting", metadata: ["url": "\(StreamURLDisplay.redacted(source.currentURL))", "format": "\(source.format)"])
        source.start()
    }
}

/// What a new viewer's held answer becomes.
public enum StartOutcome: Sendable, Equatable {
    /// The upstream delivers: answer 200 and stream.
    case ready
    /// Answer `status` with a JSON error of `code` and `message` (no byte was sent).
    case failed(status: Int, code: String, message: String)
}
