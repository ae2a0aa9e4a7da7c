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
    private let sourceBox = Locked<(any ChannelSource)?>(nil)
    var source: (any ChannelSource)? { sourceBox.withLock { $0 } }
    private let state = Locked(State())
    /// Written by the upstream loop thread only.
    private var aligner = TSPacketAligner()
    let bytesIn = Atomic<Int64>(0)
    let lastDataNanoseconds = Atomic<UInt64>(0)
    /// Set by housekeeping while the upstream is quiet past the stall threshold.
    private let stalled = Atomic<Bool>(false)
    /// When housekeeping last told the source of a stall (monotonic nanoseconds).
    private let stallHandledNanoseconds = Atomic<UInt64>(0)
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
    private func publish(_ state: State) {
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

    private func takeStartWaiters(_ outcome: (State) -> StartOutcome) -> [(StartWaiter, StartOutcome)] {
        state.withLock { state in
            defer { state.startWaiters.removeAll() }
            let result = outcome(state)
            return state.startWaiters.map { ($0, result) }
        }
    }

    /// What a viewer is told when the upstream has not delivered: 502 when it failed (its last
    /// failure named), 504 when it is still trying or stalled, 503 when the stream was stopped.
    private static func failure(_ state: State, timedOutAfter seconds: Int?) -> StartOutcome {
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

    // MARK: Viewers

    /// A new viewer, or nil when the session is already ending.
    func attach(ip: String, userAgent: String?, user: String? = nil, requestedAt: ContinuousClock.Instant) -> StreamClient? {
        let client = StreamClient(session: self, ip: ip, userAgent: userAgent, user: user, requestedAt: requestedAt)
        let attached = state.withLock { state -> Bool in
            guard state.status != .stopped, state.status != .error else { return false }
            state.clients[client.id] = client
            state.peakClients = max(state.peakClients, state.clients.count)
            state.idleSince = nil
            if state.status == .idle { state.status = state.connected ? .active : .starting }
            publish(state)
            return true
        }
        if attached { metrics.clientsConnected.increment() }
        return attached ? client : nil
    }

    /// Once per viewer; later calls (a held answer abandoned twice) do nothing.
    func detach(_ client: StreamClient, reason: ClientSnapshot.DisconnectReason) {
        let snapshot = client.snapshot(disconnectedAt: Date(), reason: reason)
        let remaining = state.withLock { state -> Int? in
            guard state.clients.removeValue(forKey: client.id) != nil else { return nil }
            state.departed.append(snapshot)
            state.departedBytes += snapshot.bytesSent
            if state.clients.isEmpty, state.status == .active || state.status == .starting {
                state.status = .idle
                state.idleSince = ContinuousClock.now
            }
            publish(state)
            return state.clients.count
        }
        guard let remaining else { return }
        metrics.clientsDisconnected[reason]?.increment()
        metrics.sessionDuration.observe(Date().timeIntervalSince(client.connectedAt))
        logger.info("client left", metadata: [
            "client": "\(client.id)", "ip": "\(client.ip)", "reason": "\(reason.rawValue)",
            "bytes": "\(snapshot.bytesSent)", "clients": "\(remaining)",
        ])
    }

    var clientCount: Int { state.withLock { $0.clients.count } }

    /// Viewers that came from `user`'s playlist.
    func viewerCount(user: String) -> Int {
        state.withLock { $0.clients.values.reduce(0) { $0 + ($1.user == user ? 1 : 0) } }
    }

    /// The upstream has delivered TS at least once.
    var hasDelivered: Bool { state.withLock { $0.hasDelivered } }

    /// The address of the only viewer, when there is exactly one.
    var soleViewerIP: String? {
        state.withLock { $0.clients.count == 1 ? $0.clients.values.first?.ip : nil }
    }

    /// When the last viewer left, if the session is idle.
    var idleSince: ContinuousClock.Instant? { state.withLock { $0.idleSince } }

    var status: StreamSnapshot.Status { state.withLock { $0.status } }

    // MARK: Source side (upstream loop thread)

    public func sourceReceived(_ bytes: UnsafeMutableRawBufferPointer) {
        bytesIn.add(Int64(bytes.count), ordering: .relaxed)
        counters.receivedBytes.wrappingAdd(UInt64(bytes.count), ordering: .relaxed)
        let now = DispatchTime.now().uptimeNanoseconds
        lastDataNanoseconds.store(now, ordering: .relaxed)
        counters.lastDataNanoseconds.store(now, ordering: .relaxed)
        let buffer = self.buffer
        let before = (aligner.packets, aligner.continuityErrors, aligner.syncLosses)
        aligner.feed(bytes) { packets, join in
            buffer.write(packets, joinPosition: join)
        }
        counters.tsPackets.wrappingAdd(UInt64(aligner.packets - before.0), ordering: .relaxed)
        if aligner.continuityErrors != before.1 {
            counters.continuityErrors.wrappingAdd(UInt64(aligner.continuityErrors - before.1), ordering: .relaxed)
        }
        if aligner.syncLosses != before.2 {
            counters.syncLosses.wrappingAdd(UInt64(aligner.syncLosses - before.2), ordering: .relaxed)
        }
        counters.bitrate.store(aligner.pcrBitsPerSecond, ordering: .relaxed)
    }

    /// Tells the source its connection is dead when the upstream, connected, has sent nothing for
    /// `timeoutSeconds` (`stall_timeout`); again only after as long again.
    func checkUpstreamStall(timeoutSeconds: Int, now: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        let last = lastDataNanoseconds.load(ordering: .relaxed)
        guard last != 0, state.withLock({ $0.connected }) else { return }
        let since = max(last, stallHandledNanoseconds.load(ordering: .relaxed))
        let limit = UInt64(max(timeoutSeconds, 1)) * 1_000_000_000
        guard now &- since >= limit, now > since else { return }
        stallHandledNanoseconds.store(now, ordering: .relaxed)
        source?.upstreamStalled(quietSeconds: Double(now &- last) / 1e9)
    }

    /// Counts a stall when the upstream has been quiet past the threshold (once per quiet spell).
    func checkStall(now: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        let last = lastDataNanoseconds.load(ordering: .relaxed)
        guard last != 0 else { return }
        let quiet = now &- last >= UInt64(StreamingMetrics.stallThreshold.components.seconds) * 1_000_000_000
        if quiet, !stalled.exchange(true, ordering: .relaxed) {
            counters.stalls.wrappingAdd(1, ordering: .relaxed)
        } else if !quiet {
            stalled.store(false, ordering: .relaxed)
        }
    }

    public func sourceEvent(_ event: SourceEvent) {
        switch event {
        case let .connected(url):
            let primary = upstreamURLs.withLock { $0 }?.isPrimary(url) ?? (url == channel.urls.first)
            counters.onBackup.store(!primary, ordering: .relaxed)
            let wasRestart = state.withLock { state -> Bool in
                defer { state.connected = true }
                if state.status == .starting { state.status = state.clients.isEmpty ? .idle : .active }
                state.hasDelivered = true
                publish(state)
                return state.restartCount > 0
            }
            for (waiter, outcome) in takeStartWaiters({ _ in .ready }) { waiter.done(outcome) }
            logger.info(wasRestart ? "upstream reconnected" : "upstream connected", metadata: ["url": "\(StreamURLDisplay.redacted(url))"])
        case let .failed(url, failure, attempt):
            aligner.dropPartialPacket()
            state.withLock { state in
                state.errorCount += 1
                state.lastError = failure.message
                state.lastFailure = failure
                state.connected = false
            }
            counters.countUpstreamError(failure.kind)
            if failure.isLoginRefusal, let refused = hooks.withLock({ $0.loginRefused }) { refused(failure) }
            logger.warning("upstream failed", metadata: [
                "url": "\(StreamURLDisplay.redacted(url))", "reason": "\(failure.message)", "kind": "\(failure.kind.rawValue)", "attempt": "\(attempt)",
            ])
        case .discontinuity:
            aligner.markDiscontinuity()
        case let .reconnecting(url, attempt):
            state.withLock { $0.restartCount += 1 }
            counters.restarts.wrappingAdd(1, ordering: .relaxed)
            logger.info("upstream reconnecting", metadata: ["url": "\(StreamURLDisplay.redacted(url))", "attempt": "\(attempt)"])
        case let .gaveUp(reason):
            finish(status: .error, reason: reason)
            logger.error("stream failed; closing its clients", metadata: ["reason": "\(reason)"])
        }
    }

    /// Swaps in a new source on the upstream loop thread (where the old one delivers), so no byte
    /// of the old connection lands after the new one's. The aligner drops the old partial packet
    /// and flags the next packets as a discontinuity.
    func restart(with replacement: any ChannelSource, on loop: UpstreamLoop) -> Bool {
        guard state.withLock({ $0.status != .stopped && $0.status != .error }) else { return false }
        loop.schedule(after: .zero) { [self] in
            guard state.withLock({ $0.status != .stopped && $0.status != .error }) else { return }
            let old = sourceBox.withLock { box -> (any ChannelSource)? in
                defer { box = replacement }
                return box
            }
            old?.stop()
            aligner.dropPartialPacket()
            aligner.markDiscontinuity()
            state.withLock {
                $0.restartCount += 1
                $0.connected = false
            }
            counters.restarts.wrappingAdd(1, ordering: .relaxed)
            logger.info("upstream restarted by an operator", metadata: ["url": "\(StreamURLDisplay.redacted(replacement.currentURL))"])
            replacement.start()
        }
        return true
    }

    /// Disconnects one viewer now (reason `kicked`).
    func kick(_ clientID: UUID) -> Bool {
        guard let client = state.withLock({ $0.clients[clientID] }) else { return false }
        client.drop(.kicked)
        return true
    }

    /// Disconnects every viewer now, also those parked without data.
    func dropClients(_ reason: StreamClient.EndReason) {
        let clients = state.withLock { Array($0.clients.values) }
        for client in clients { client.drop(reason) }
    }

    /// Drops viewers that took nothing for `limit`; returns how many.
    func dropIdleClients(olderThan limit: Duration) -> Int {
        let seconds = Double(limit.components.seconds)
        let clients = state.withLock { Array($0.clients.values) }
        var dropped = 0
        for client in clients where client.secondsSinceProgress >= seconds {
            client.drop(.timeout)
            dropped += 1
        }
        return dropped
    }

    // MARK: Ending

    /// Stops the source and ends the ring; viewers drain what is left and leave (`stream_stopped`).
    func stop() {
        finish(status: .stopped, reason: nil)
    }

    private func finish(status: StreamSnapshot.Status, reason: String?) {
        let first = state.withLock { state -> Bool in
            guard state.status != .stopped, state.status != .error else { return false }
            state.status = status
            state.stoppedAt = Date()
            if let reason { state.lastError = reason }
            publish(state)
            return true
        }
        guard first else { return }
        for (waiter, outcome) in takeStartWaiters({ Self.failure($0, timedOutAfter: nil) }) { waiter.done(outcome) }
        sourceBox.withLock { $0 }?.stop()
        buffer.end()
        let finished = hooks.withLock { hooks in
            defer { hooks = (nil, nil) }
            return hooks.finished
        }
        finished?()
        if status == .stopped { logger.info("stream stopped") }
    }

    /// Ends every viewer's response with `reason` at its next read and wakes them.
    func endClients(_ reason: StreamClient.EndReason) {
        let clients = state.withLock { Array($0.clients.values) }
        for client in clients { client.end(reason) }
        buffer.end()
    }

    /// Drops viewers a whole ring behind (when the lag policy is `disconnect`; with `skip` they move
    /// on at their next read) and viewers with data waiting that took nothing for `client_timeout`.
    /// These viewers have stopped reading, so MHD no longer calls their `read`: this is where they
    /// are noticed.
    func dropStuckClients() {
        let write = buffer.writePosition
        let clients = state.withLock { Array($0.clients.values) }
        var slowest = Int64.max
        defer {
            // Four places are what a scrape needs, and decimals that short are written without a String.
            let fill = slowest == .max ? 0 : (min(1, max(0, Double(write - slowest) / Double(buffer.capacity))) * 10_000).rounded() / 10_000
            // Published for scrapes (only while this session owns the channel's gauges).
            if counters.live.withLock({ $0?.owner == ObjectIdentifier(self) }) {
                counters.bufferFillBits.store(fill.bitPattern, ordering: .relaxed)
            }
        }
        for client in clients {
            let cursor = client.cursorEstimate
            slowest = min(slowest, cursor)
            let behind = write - cursor
            if lagPolicy == .disconnect, behind > Int64(buffer.capacity) {
                client.drop(.lagging)
            } else if behind > 0, client.secondsSinceProgress >= Double(clientTimeoutSeconds) {
                client.drop(.timeout)
            }
        }
    }

    /// Drops viewers whose client hung up while parked; true when no live viewer is left. Only
    /// viewers that took nothing for `quietSeconds` are asked (a peek at their socket): one that
    /// reads is known to be there.
    func dropHungUpClients(quietSeconds: Double = 0) -> Bool {
        let clients = state.withLock { Array($0.clients.values) }
        var live = 0
        for client in clients {
            if client.secondsSinceProgress >= quietSeconds, client.hasHungUp {
                client.drop(.closed)
            } else {
                live += 1
            }
        }
        return live == 0
    }

    // MARK: Snapshots

    /// The session's figures now, with the viewers who left since the last recording. Only the
    /// recording (`recording: true`) moves the bandwidth window on and forgets departed viewers.
    func snapshot(recording: Bool = true, withClients: Bool = true) -> StreamSnapshot {
        let now = ContinuousClock.now
        let totalIn = bytesIn.load(ordering: .relaxed)
        let lastData = lastDataNanoseconds.load(ordering: .relaxed)
        let write = buffer.writePosition
        let source = self.source
        return state.withLock { state in
            let clients = withClients ? state.clients.values.map { $0.snapshot() } : []
            let liveBytes = state.clients.values.reduce(Int64(0)) { $0 + $1.bytesSent.load(ordering: .relaxed) }
            let oldest = state.rateSamples.first ?? (now, totalIn)
            let elapsed = now - oldest.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            // Both counts are bytes of this process (far below 2^53), and the window is at least
            // one recording long: the quotient is finite and fits.
            let bandwidth = seconds >= 0.2 ? Int64((Double(max(0, totalIn - oldest.bytesIn)) * 8 / seconds).rounded()) : 0
            let departed = state.departed
            if recording {
                state.rateSamples.append((now, totalIn))
                // Keep the newest sample older than the window, so the window stays full.
                if let keep = state.rateSamples.lastIndex(where: { now - $0.at > Self.rateWindow }), keep > 0 {
                    state.rateSamples.removeFirst(keep)
                }
                state.departed.removeAll()
            }
            var fill = 0.0
            if let slowest = state.clients.values.map({ $0.cursorEstimate }).min() {
                fill = min(1, max(0, Double(write - slowest) / Double(buffer.capacity)))
            }
            let lastDataAt = lastData == 0 ? nil : Date(timeIntervalSinceNow: -Double(DispatchTime.now().uptimeNanoseconds &- lastData) / 1e9)
            return StreamSnapshot(
                id: id, channelID: channel.id, sourceURL: StreamURLDisplay.redacted(source?.currentURL ?? ""),
                format: source?.format ?? "ts", status: state.status, startedAt: startedAt, stoppedAt: state.stoppedAt,
                lastDataAt: lastDataAt, clientCount: state.clients.count, peakClientCount: state.peakClients,
                bytesIn: totalIn, bytesOut: state.departedBytes + liveBytes, bandwidthBitsPerSecond: bandwidth,
                errorCount: state.errorCount, restartCount: state.restartCount, lastError: state.lastError,
                bufferFill: fill, clients: withClients ? clients + departed : []
            )
        }
    }
}

/// What a new viewer's held answer becomes.
public enum StartOutcome: Sendable, Equatable {
    /// The upstream delivers: answer 200 and stream.
    case ready
    /// Answer `status` with a JSON error of `code` and `message` (no byte was sent).
    case failed(status: Int, code: String, message: String)
}
