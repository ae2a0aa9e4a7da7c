import Foundation
import Logging
import SharecastCore
import SharecastMetrics
import SharecastTS
import SharecastUpstream
import Synchronization
import SharecastSync

// What the monitoring API, the metrics and the history read of a session.
extension ChannelSession {
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
