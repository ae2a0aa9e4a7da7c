import Foundation
import Logging
import SharecastCore
import SharecastHTTP
import SharecastMetrics
import SharecastTS
import SharecastUpstream
import Synchronization
import SharecastSync

/// Runs the shared streams: one session per channel however many viewers, started by the first
/// viewer, kept for a grace period after the last one leaves, and stopped when that runs out.
///
/// A housekeeping thread does everything that is not per packet: it wakes readers of slow streams
/// (every 20 ms), ends idle sessions and removes finished ones (every 250 ms), and hands snapshots
/// to the recorder (every second; with a stats sample every `statsInterval`, or sooner when
/// `requestSample()` asked for one).
public final class SessionManager: Sendable {
    final class Shared: Sendable {
        let sessions = Locked<[String: ChannelSession]>([:])
        /// Sessions that ended but whose final snapshot has not been recorded yet.
        let finished = Locked<[ChannelSession]>([])
        /// Set by `requestSample()`; the next recording adds a stats row per running session.
        let sampleRequested = Atomic<Bool>(false)
        /// Requests waiting for a slot of a full provider (`zap_wait`), retried by housekeeping.
        let slotWaiters = Locked<[SlotWaiter]>([])
    }

    public let settings: Settings
    public let metrics: StreamingMetrics
    let loop: UpstreamLoop
    let recorder: (any StreamRecorder)?
    let logger: Logger
    /// The providers' logins and how many streams each holds.
    public let slots: ProviderSlots
    let resolver: any UpstreamResolver
    let shared = Shared()
    /// Housekeeping: wakes slow streams' readers, ends idle sessions, records history.
    private let housekeeping: ServiceThread

    public init(settings: Settings, loop: UpstreamLoop, recorder: (any StreamRecorder)?,
                metrics: StreamingMetrics = StreamingMetrics(registry: MetricsRegistry()),
                slots: ProviderSlots = ProviderSlots(providers: [:]), resolver: any UpstreamResolver = FixedURLs(), logger: Logger) {
        self.settings = settings
        self.slots = slots
        self.resolver = resolver
        self.metrics = metrics
        self.loop = loop
        self.recorder = recorder
        self.logger = logger
        if let directory = settings.bufferDirectory {
            // Made now, not by the first stream: health checks read its file system from the start.
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                logger.warning("cannot create shared_streaming.buffer_path; rings will use memory", metadata: ["directory": "\(directory)", "error": "\(error)"])
            }
            let removed = RingStorage.removeStale(in: directory)
            if !removed.isEmpty {
                logger.info("removed ring buffer files left by a previous run", metadata: ["directory": "\(directory)", "files": "\(removed.count)"])
            }
        }
        let shared = self.shared
        housekeeping = ServiceThread(name: "sharecast-sessions") { [settings, recorder, logger] thread in
            Self.housekeep(shared, thread: thread, settings: settings, recorder: recorder, logger: logger)
        }
        housekeeping.start()
    }

    /// A response body for a new viewer of `channel`, starting its session when it has none.
    ///
    /// A channel of a provider with logins needs a free slot of one of them. When every slot is
    /// taken, a session of that provider without viewers (in its grace period, or whose viewers
    /// all hung up) yields its slot at once; with `zap_takeover`, so does one whose only viewer
    /// asks from the same address (that viewer is closed as `zapped`). Otherwise the answer is
    /// `providerFull`, and the caller may wait (`attachWhenFree`).
    public func attach(channel: CatalogChannel, ip: String, userAgent: String?, user: String? = nil,
                       requestedAt: ContinuousClock.Instant = .now) -> Result<any StreamingBody, AttachError> {
        attach(channel: channel, ip: ip, userAgent: userAgent, user: user, requestedAt: requestedAt, counting: true)
    }

    /// Viewers of every running stream that came from `user`'s playlist.
    public func viewerCount(user: String) -> Int {
        shared.sessions.withLock { Array($0.values) }.reduce(0) { $0 + $1.viewerCount(user: user) }
    }

    func attach(channel: CatalogChannel, ip: String, userAgent: String?, user: String?,
                requestedAt: ContinuousClock.Instant, counting: Bool) -> Result<any StreamingBody, AttachError> {
        var evicted: [ChannelSession] = []
        let result: Result<any StreamingBody, AttachError> = shared.sessions.withLock { sessions in
            if let session = sessions[channel.id], let client = session.attach(ip: ip, userAgent: userAgent, user: user, requestedAt: requestedAt) {
                return .success(client)
            }
            sessions[channel.id] = nil
            let lease: SlotLease?, inherited: Bool
            switch takeSlot(for: channel.source, ip: ip, sessions: &sessions, evicted: &evicted) {
            case let .success(taken): (lease, inherited) = (taken.lease, taken.inherited)
            case let .failure(error): return .failure(error)
            }
            if sessions.count >= settings.maxSessions {
                // A session only waiting out its grace period never blocks a new channel. Nor does
                // one whose viewers have all hung up but are not noticed yet because their
                // connections are parked: a viewer zapping from A to B with a limit of 1 gets B.
                let idle = sessions.values.filter { $0.clientCount == 0 }
                    .min { ($0.idleSince ?? .now) < ($1.idleSince ?? .now) }
                    ?? sessions.values.first { $0.dropHungUpClients() }
                guard let idle else {
                    if let lease { slots.release(lease) }
                    return .failure(.atCapacity(limit: settings.maxSessions))
                }
                sessions[idle.channel.id] = nil
                idle.stop()
                evicted.append(idle)
            }
            guard let buffer = SharedBuffer(capacity: settings.bufferSize, directory: settings.bufferDirectory, name: channel.id) else {
                if let lease { slots.release(lease) }
                return .failure(.unavailable("no memory for the ring buffer of channel \(channel.id)"))
            }
            let session = ChannelSession(channel: channel, buffer: buffer, lagPolicy: settings.lagPolicy,
                                         clientTimeoutSeconds: settings.clientTimeoutSeconds, joinBacklogSeconds: settings.joinBacklogSeconds,
                                         metrics: metrics, logger: logger)
            session.slot.withLock { $0 = lease }
            if inherited { session.slotInherited.store(true, ordering: .relaxed) }
            guard let source = makeSource(channel, for: session) else {
                session.stop()
                if let lease { slots.release(lease) }
                return .failure(.unavailable("channel \(channel.id) has no usable upstream URL"))
            }
            installHooks(session)
            guard let client = session.attach(ip: ip, userAgent: userAgent, user: user, requestedAt: requestedAt) else {
                session.stop()
                return .failure(.unavailable("session of channel \(channel.id) ended at once"))
            }
            sessions[channel.id] = session
            session.start(with: source)
            return .success(client)
        }
        if counting { countOutcome(result) }
        for session in evicted {
            logger.info("stream stopped to make room", metadata: ["channel": "\(session.channel.id)", "for": "\(channel.id)"])
        }
        if !evicted.isEmpty { shared.finished.withLock { $0 += evicted } }
        return result
    }

    /// Runs `done` once the session of a viewer attached by `attach` has delivered its first bytes
    /// (at once when it already has), failed, or not delivered within `firstByteTimeout`, so the
    /// viewer is answered 200 only for a stream that plays.
    public func whenStarted(_ body: any StreamingBody, _ done: @escaping @Sendable (StartOutcome) -> Void) {
        guard let client = body as? StreamClient else { return done(.ready) }
        client.session.whenStarted(timeout: settings.firstByteTimeout, done)
    }

    /// Lets go of a viewer whose body was never sent (its answer was an error, or the server
    /// stopped first); `reason` is recorded.
    public func abandon(_ body: any StreamingBody, reason: ClientSnapshot.DisconnectReason) {
        guard let client = body as? StreamClient else { return }
        client.releaseConnection()
        // A reason given to the viewer before (it hung up, was kicked) wins.
        client.session.detach(client, reason: client.recordedReason ?? reason)
    }

    /// Builds a source for `channel` once the session (its sink) exists.
    struct SourceFactory {
        let make: (ChannelSession) -> any ChannelSource
    }

    /// The source of a new session (or an operator's restart): its URLs are resolved at every
    /// connect, for the login the session holds then.
    private func makeSource(_ channel: CatalogChannel, for session: ChannelSession) -> (any ChannelSource)? {
        if channel.urls.first == StreamURL.testPattern {
            guard let clip = settings.testClip else { return nil }
            return TestPatternSource(clip: clip, targetBitsPerSecond: settings.testPatternBitsPerSecond, loop: loop, sink: session)
        }
        let resolver = self.resolver
        let resolve: @Sendable () -> [String] = { [weak session] in
            guard let session else { return [] }
            return resolver.urls(for: session.channel, lease: session.slot.withLock { $0 }).filter { $0 != StreamURL.testPattern }
        }
        let initial = resolve()
        guard !initial.isEmpty else { return nil }
        let urls = UpstreamURLs(initial: initial, resolve: resolve)
        session.upstreamURLs.withLock { $0 = urls }
        let policy = settings.reconnect
        let userAgent = channel.userAgent ?? settings.defaultUserAgent
        // The primary URL decides the format for the whole list.
        if HLSSource.handles(initial[0]) {
            return HLSSource(urls: urls, userAgent: userAgent, headers: channel.headers, policy: policy, maxBandwidth: settings.hlsMaxBandwidth, loop: loop, sink: session)
        }
        return TSUpstreamSource(urls: urls, userAgent: userAgent, headers: channel.headers, policy: policy, loop: loop, sink: session)
    }

    /// Snapshots of the running sessions, for the monitor API, metrics and tests; taking them does
    /// not disturb the recording.
    public func snapshots(withClients: Bool = true) -> [StreamSnapshot] {
        shared.sessions.withLock { Array($0.values) }.map { $0.snapshot(recording: false, withClients: withClients) }
    }

    public var sessionCount: Int { shared.sessions.withLock { $0.count } }

    /// Viewer objects still in memory for the running session of `channel` (connected ones
    /// included): equal to its viewer count once departed viewers are freed.
    public func viewerObjects(channel: String) -> Int? {
        shared.sessions.withLock { $0[channel] }?.viewerObjects.load(ordering: .relaxed)
    }

    /// Asks for a `shared_stream_stats` row per running session with the next recording (within a
    /// second), besides the ones every `statsInterval`.
    public func requestSample() {
        shared.sampleRequested.store(true, ordering: .releasing)
    }

    /// The running session with this id.
    private func session(_ id: UUID) -> ChannelSession? {
        shared.sessions.withLock { table in table.values.first { $0.id == id } }
    }

    /// True for a session that ended but whose last viewers or final record are still pending.
    public func isEnding(_ id: UUID) -> Bool {
        shared.finished.withLock { list in list.contains { $0.id == id } }
    }

    /// One running session's snapshot, with its viewers.
    public func snapshot(of id: UUID) -> StreamSnapshot? {
        session(id)?.snapshot(recording: false)
    }

    /// Stops a running session now: its viewers are closed with reason `kicked`. False when no
    /// session has this id.
    @discardableResult
    public func stop(_ id: UUID) -> Bool {
        let session = shared.sessions.withLock { table -> ChannelSession? in
            guard let (key, session) = table.first(where: { $0.value.id == id }) else { return nil }
            table[key] = nil
            return session
        }
        guard let session else { return false }
        session.dropClients(.kicked)
        session.stop()
        shared.finished.withLock { $0.append(session) }
        logger.info("stream stopped by an operator", metadata: ["channel": "\(session.channel.id)", "stream": "\(id)"])
        return true
    }

    /// Opens a new upstream connection for a running session; its viewers stay and carry on from
    /// the new connection's first whole packet. False when no session has this id.
    @discardableResult
    public func restart(_ id: UUID) -> Bool {
        guard let session = session(id), let source = makeSource(session.channel, for: session) else { return false }
        return session.restart(with: source, on: loop)
    }

    /// Disconnects one viewer (reason `kicked`). False when there is no such session or viewer.
    @discardableResult
    public func kick(stream id: UUID, client: UUID) -> Bool {
        session(id)?.kick(client) ?? false
    }

    /// Waits until the history recorder has written everything handed to it so far.
    public func flushHistory() {
        recorder?.flush()
    }

    /// What the buffer-management pass did.
    public struct BufferReport: Sendable, Equatable {
        public var orphanFilesRemoved: [String] = []
        public var ringBytes = 0
        public var idleSessionsStopped = 0
    }

    /// Removes ring files under `buffer_path` that no session owns, and, when the rings together
    /// exceed `budget` bytes (0: no budget), stops sessions without viewers, longest idle first,
    /// until they fit.
    public func manageBuffers(budget: Int) -> BufferReport {
        var report = BufferReport()
        let running = shared.sessions.withLock { Array($0.values) }
        let finished = shared.finished.withLock { $0 }
        if let directory = settings.bufferDirectory {
            let owned = Set((running + finished).compactMap { $0.buffer.storagePath })
            report.orphanFilesRemoved = RingStorage.removeOrphans(in: directory, owned: owned, minimumAge: 60)
        }
        report.ringBytes = running.reduce(0) { $0 + $1.buffer.capacity }
        guard budget > 0, report.ringBytes > budget else { return report }
        let idle = running.filter { $0.clientCount == 0 }.sorted { ($0.idleSince ?? .now) < ($1.idleSince ?? .now) }
        for session in idle where report.ringBytes > budget {
            if stop(session.id) {
                report.ringBytes -= session.buffer.capacity
                report.idleSessionsStopped += 1
            }
        }
        if report.ringBytes > budget {
            logger.warning("ring buffers exceed shared_streaming.buffer_disk_budget with every idle stream stopped",
                           metadata: ["bytes": "\(report.ringBytes)", "budget": "\(budget)"])
        }
        return report
    }

    /// What a cleanup pass did.
    public struct CleanupResult: Sendable, Equatable {
        public var clientsDropped = 0
        public var sessionsStopped = 0
        public var stoppedSessionIDs: [UUID] = []
    }

    /// Drops viewers that took nothing for `clientTimeout` and stops sessions that had no viewer,
    /// or no upstream byte, for `streamTimeout`. Housekeeping catches most of these sooner; this is
    /// the scheduled backstop the cleanup job runs (and `POST /api/monitor/cleanup`).
    public func cleanup(clientTimeout: Duration, streamTimeout: Duration) -> CleanupResult {
        var result = CleanupResult()
        let now = ContinuousClock.now, uptime = DispatchTime.now().uptimeNanoseconds
        let sessions = shared.sessions.withLock { Array($0.values) }
        for session in sessions {
            result.clientsDropped += session.dropIdleClients(olderThan: clientTimeout)
            let idle = session.clientCount == 0 && (session.idleSince.map { now - $0 >= streamTimeout } ?? false)
            let lastData = session.lastDataNanoseconds.load(ordering: .relaxed)
            let reference = lastData == 0 ? UInt64(session.startedUptime) : lastData
            let silent = Double(uptime &- reference) / 1e9 >= Double(streamTimeout.components.seconds)
            if idle || silent, stop(session.id) {
                result.sessionsStopped += 1
                result.stoppedSessionIDs.append(session.id)
            }
        }
        return result
    }


    /// Ends every stream (viewers leave with reason `shutdown`), records the final state and stops
    /// the housekeeping thread. The caller stops the HTTP server and the upstream loop.
    public func shutdown() {
        guard !housekeeping.isStopping else { return }
        housekeeping.stop()
        for waiter in shared.slotWaiters.withLock({ list in defer { list.removeAll() }; return list }) { waiter.expire() }
        let sessions = shared.sessions.withLock { sessions in
            defer { sessions.removeAll() }
            return Array(sessions.values)
        }
        for session in sessions {
            session.endClients(.shutdown)
            session.stop()
        }
        // Give viewers' connections a moment to close so their reasons are recorded.
        let deadline = ContinuousClock.now + .seconds(2)
        while sessions.contains(where: { $0.clientCount > 0 }), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let finished = shared.finished.withLock { list in
            defer { list.removeAll() }
            return list
        }
        recorder?.record((sessions + finished).map { $0.snapshot() }, sample: false)
        recorder?.flush()
    }

    private static func housekeep(_ shared: Shared, thread: ServiceThread, settings: Settings, recorder: (any StreamRecorder)?, logger: Logger) {
        var lastSample = ContinuousClock.now
        func checkSessions(_ sessions: [ChannelSession]) {
            for session in sessions {
                session.dropStuckClients()
                // A viewer parked with nothing to send (upstream failing or stalled) is never read
                // by MHD, so its hang-up would only be seen by the cleanup job minutes later,
                // keeping the session and its reconnects alive.
                _ = session.dropHungUpClients(quietSeconds: 1)
                session.checkStall()
                session.checkUpstreamStall(timeoutSeconds: settings.reconnect.stallTimeoutSeconds)
                session.expireStartWaiters()
            }

            // Idle past the grace period, or ended by the upstream: out of the table.
            let now = ContinuousClock.now
            let ended: [ChannelSession] = shared.sessions.withLock { table in
                var out: [ChannelSession] = []
                for (id, session) in table {
                    let status = session.status
                    let idleTooLong = session.clientCount == 0 && (session.idleSince.map { now - $0 >= settings.gracePeriod } ?? false)
                    if status == .error || status == .stopped || idleTooLong {
                        table[id] = nil
                        out.append(session)
                    }
                }
                return out
            }
            for session in ended { session.stop() }
            if !ended.isEmpty { shared.finished.withLock { $0 += ended } }
        }

        func recordHistory() {
            let finished = shared.finished.withLock { list in
                // Keep a finished session until its last viewers are gone, so their reasons are recorded.
                let done = list.filter { $0.clientCount == 0 }
                list.removeAll { $0.clientCount == 0 }
                return done + list
            }
            guard let recorder else { return }
            let due = ContinuousClock.now - lastSample >= settings.statsInterval
            let sample = shared.sampleRequested.exchange(false, ordering: .acquiringAndReleasing) || due
            if sample { lastSample = .now }
            let running = shared.sessions.withLock { Array($0.values) }
            recorder.record((running + finished).map { $0.snapshot() }, sample: sample)
        }

        /// Every 0.1 s: requests waiting for a provider's slot try again, or give up at their deadline.
        func retrySlotWaiters() {
            let waiting = shared.slotWaiters.withLock { list in
                defer { list.removeAll() }
                return list
            }
            guard !waiting.isEmpty else { return }
            let now = ContinuousClock.now
            var still: [SlotWaiter] = []
            for waiter in waiting where !waiter.retry() {
                if now >= waiter.deadline { waiter.expire() } else { still.append(waiter) }
            }
            if !still.isEmpty { shared.slotWaiters.withLock { $0.insert(contentsOf: still, at: 0) } }
        }

        var tick = 0
        // A 20 ms period: slow streams' readers are woken at least this often (a ring wakes them
        // itself past its threshold), which is timer work by nature.
        var next = ContinuousClock.now
        while !thread.isStopping {
            next += .milliseconds(20)
            if next < .now { next = .now }
            guard thread.wait(until: next) else { break }
            tick += 1
            let sessions = shared.sessions.withLock { Array($0.values) }
            for session in sessions { session.buffer.flush() }
            // Every 0.24 s: stuck viewers, stalls, ended sessions. Every second: the recording.
            if tick % 12 == 0 { checkSessions(sessions) }
            if tick % 5 == 0 { retrySlotWaiters() }
            guard tick % 50 == 0 else { continue }
            recordHistory()
        }
    }
}
