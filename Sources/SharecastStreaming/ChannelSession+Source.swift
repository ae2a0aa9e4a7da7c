import Foundation
import Logging
import SharecastCore
import SharecastMetrics
import SharecastTS
import SharecastUpstream
import Synchronization
import SharecastSync

// The source side: bytes and events from the upstream loop thread, stalls, restarts, the end.
extension ChannelSession {
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
}
