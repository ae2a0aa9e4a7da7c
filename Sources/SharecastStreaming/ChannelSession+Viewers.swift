import Foundation
import Logging
import SharecastCore
import SharecastMetrics
import SharecastTS
import SharecastUpstream
import Synchronization
import SharecastSync

// Viewers: joining, leaving, and the housekeeping that finds those who stopped reading.
extension ChannelSession {
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
}
