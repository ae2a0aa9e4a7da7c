import Foundation
import SharecastCore
import SharecastMetrics
import SharecastUpstream
import Synchronization
import SharecastSync

/// One channel's cumulative figures, kept across its sessions (a restarted channel's counters go
/// on from where they were). The upstream loop and viewers' MHD threads add to them with single
/// atomic operations.
public final class ChannelCounters: Sendable {
    public let channelID: String
    /// Label sets and `_created` rendered once, not per scrape.
    let labels: LabelSet
    let errorLabels: [LabelSet]
    let created: RenderedNumber
    let receivedBytes = Atomic<UInt64>(0)
    let sentBytes = Atomic<UInt64>(0)
    let restarts = Atomic<UInt64>(0)
    let tsPackets = Atomic<UInt64>(0)
    let continuityErrors = Atomic<UInt64>(0)
    let syncLosses = Atomic<UInt64>(0)
    let stalls = Atomic<UInt64>(0)
    let bitrate = Atomic<Int64>(0)
    /// True while the upstream in use is a backup URL (not the channel's first).
    let onBackup = Atomic<Bool>(false)
    /// One per `UpstreamFailure.Kind.allCases`, in that order.
    let upstreamErrors: [Counter]
    /// The running session's gauges, published by the session when they change, so a scrape
    /// reads them here instead of visiting every session under its locks. nil without a running
    /// session (its gauges then read 0).
    let live = Locked<LiveFigures?>(nil)
    /// Monotonic nanoseconds of the running session's last upstream bytes (0: none yet).
    let lastDataNanoseconds = Atomic<UInt64>(0)
    /// The ring's fill behind the slowest viewer, as of the last housekeeping pass (a `Double`'s bits).
    let bufferFillBits = Atomic<UInt64>(0)

    /// What a running session publishes; `owner` is the session, so a session that has been
    /// replaced cannot overwrite its successor's figures.
    struct LiveFigures: Sendable {
        var owner: ObjectIdentifier
        var status: StreamSnapshot.Status
        var clients: Int
        /// Unix seconds, to the millisecond.
        var startedAt: Double
    }

    init(channelID: String) {
        self.channelID = channelID
        labels = [("channel", channelID)]
        errorLabels = UpstreamFailure.Kind.allCases.map { [("channel", channelID), ("reason", $0.rawValue)] }
        let created = Date().timeIntervalSince1970
        self.created = RenderedNumber(created)
        upstreamErrors = UpstreamFailure.Kind.allCases.map { _ in Counter(created: created) }
    }

    func countUpstreamError(_ kind: UpstreamFailure.Kind) {
        if let index = UpstreamFailure.Kind.allCases.firstIndex(of: kind) { upstreamErrors[index].increment() }
    }
}

/// The streaming layer's metrics: viewer events as registry handles, and per-channel families
/// built at scrape time from `ChannelCounters` and session snapshots.
///
/// Channel series exist only for channels that have had a session since start and are still in
/// the catalog, which bounds cardinality by what viewers actually watch, not by the catalog size.
public final class StreamingMetrics: Sendable {
    let clientsConnected: Counter
    let clientsDisconnected: [ClientSnapshot.DisconnectReason: Counter]
    let rejected: [RejectReason: Counter]
    let clientsSkipped: Counter
    let joinLatency: Histogram
    let sessionDuration: Histogram
    private let channels = Locked<ChannelTable>(ChannelTable())
    let registry: MetricsRegistry
    /// `sharecast_provider_refused_total` by provider and reason, made at first use (providers are few).
    private let providerRefusals = Locked<[String: Counter]>([:])
    /// No bytes for this long counts as a stall.
    public static let stallThreshold: Duration = .seconds(3)

    public enum RejectReason: String, Sendable, CaseIterable {
        case streamLimit = "stream_limit", unavailable, unknownKey = "unknown_key", providerFull = "provider_full"
    }

    public init(registry: MetricsRegistry) {
        self.registry = registry
        clientsConnected = registry.counter("sharecast_clients_connected", help: "Viewers that joined a stream.")
        var disconnected: [ClientSnapshot.DisconnectReason: Counter] = [:]
        for reason in ClientSnapshot.DisconnectReason.allCases {
            disconnected[reason] = registry.counter("sharecast_clients_disconnected", help: "Viewers that left, by reason.",
                                                    labels: [("reason", reason.rawValue)])
        }
        clientsDisconnected = disconnected
        var rejected: [RejectReason: Counter] = [:]
        for reason in RejectReason.allCases {
            rejected[reason] = registry.counter("sharecast_clients_rejected", help: "Stream requests refused, by reason.",
                                                labels: [("reason", reason.rawValue)])
        }
        self.rejected = rejected
        clientsSkipped = registry.counter("sharecast_clients_skipped", help: "Lagging viewers moved forward to the newest keyframe (lag_policy: skip).")
        joinLatency = registry.histogram("sharecast_client_join_latency_seconds", help: "Time from a viewer's request to its first byte.",
                                         unit: "seconds", bounds: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        sessionDuration = registry.histogram("sharecast_client_session_duration_seconds", help: "How long viewers stayed.",
                                             unit: "seconds", bounds: [1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200])
    }

    public func reject(_ reason: RejectReason) {
        rejected[reason]?.increment()
    }

    /// Why a provider's stream could not be had: every slot in use here (`limit`), the provider
    /// refused a login (`provider`), or the account is not usable (`account`).
    public enum ProviderRefusal: String, Sendable, CaseIterable {
        case limit, provider, account
    }

    /// Makes the refusal counters of `providers` at 0, so they exist before the first refusal
    /// (a rate over a series that appears with its first increment misses that increment).
    public func prepareProviders(_ providers: [String]) {
        for provider in providers {
            for reason in ProviderRefusal.allCases { refusalCounter(provider, reason) }
        }
    }

    public func countProviderRefusal(_ provider: String, _ reason: ProviderRefusal) {
        refusalCounter(provider, reason).increment()
    }

    @discardableResult
    private func refusalCounter(_ provider: String, _ reason: ProviderRefusal) -> Counter {
        let key = "\(provider)\u{1F}\(reason.rawValue)"
        let counter = providerRefusals.withLock { table in
            if let counter = table[key] { return counter }
            let counter = registry.counter("sharecast_provider_refused", help: "Streams of a provider refused, by reason: every slot in use (limit), the provider refused a login (provider), the account is not usable (account).",
                                           labels: [("provider", provider), ("reason", reason.rawValue)])
            table[key] = counter
            return counter
        }
        return counter
    }

    func countLoginRefusal(provider: String) {
        countProviderRefusal(provider, .provider)
    }

    /// Counters by channel, plus the same sorted by channel id for scrapes (re-sorted only when
    /// a channel comes or goes).
    struct ChannelTable {
        var byID: [String: ChannelCounters] = [:]
        var sorted: [ChannelCounters] = []
        /// `{channel}` per sorted channel, and `{channel, reason}` per channel and failure kind.
        var series = SeriesTable()
        var errorSeries = SeriesTable()

        mutating func rebuild(keeping keep: (ChannelCounters) -> Bool = { _ in true }) {
            byID = byID.filter { keep($0.value) }
            sorted = byID.values.sorted { $0.channelID < $1.channelID }
            series = SeriesTable()
            errorSeries = SeriesTable()
            for channel in sorted {
                series.append(channel.labels, created: channel.created)
                for labels in channel.errorLabels { errorSeries.append(labels, created: channel.created) }
            }
        }
    }

    func channel(_ id: String) -> ChannelCounters {
        channels.withLock { table in
            if let existing = table.byID[id] { return existing }
            let counters = ChannelCounters(channelID: id)
            table.byID[id] = counters
            table.rebuild()
            return counters
        }
    }

    /// Writes `sharecast_streams{state}` and the per-channel families for the channels in
    /// `catalog`; counters of channels that left the catalog are dropped. Gauges of a channel
    /// without a running session read 0.
    public func writeChannels(into writer: inout MetricsWriter, catalog: Set<String>) {
        let table = channels.withLock { table -> ChannelTable in
            if table.byID.keys.contains(where: { !catalog.contains($0) }) {
                table.rebuild { catalog.contains($0.channelID) }
            }
            return table
        }
        let channels = table.sorted, series = table.series
        let now = Date().timeIntervalSince1970, uptime = DispatchTime.now().uptimeNanoseconds

        func column<T>(_ rows: Int = channels.count) -> [T] {
            var values = [T]()
            values.reserveCapacity(rows)
            return values
        }
        var received: [UInt64] = column(), sent: [UInt64] = column(), restarts: [UInt64] = column(), packets: [UInt64] = column()
        var continuity: [UInt64] = column(), syncLosses: [UInt64] = column(), stalls: [UInt64] = column()
        var errors: [UInt64] = column(channels.count * UpstreamFailure.Kind.allCases.count)
        var up: [Double] = column(), clients: [Double] = column(), fill: [Double] = column(), lastData: [Double] = column()
        var started: [Double] = column(), rate: [Double] = column(), backup: [Double] = column()
        var states: [StreamSnapshot.Status: Int] = [:]
        for channel in channels {
            let session = channel.live.withLock { $0 }
            if let session { states[session.status, default: 0] += 1 }
            received.append(channel.receivedBytes.load(ordering: .relaxed))
            sent.append(channel.sentBytes.load(ordering: .relaxed))
            restarts.append(channel.restarts.load(ordering: .relaxed))
            packets.append(channel.tsPackets.load(ordering: .relaxed))
            continuity.append(channel.continuityErrors.load(ordering: .relaxed))
            syncLosses.append(channel.syncLosses.load(ordering: .relaxed))
            stalls.append(channel.stalls.load(ordering: .relaxed))
            // A stopped channel is on no URL and has no rate: its alerts must not fire.
            rate.append(session == nil ? 0 : Double(channel.bitrate.load(ordering: .relaxed)) / 8)
            backup.append(session != nil && channel.onBackup.load(ordering: .relaxed) ? 1 : 0)
            for counter in channel.upstreamErrors { errors.append(counter.current) }
            // Gauges of a channel without a running session read 0.
            up.append(session.map { $0.status == .active || $0.status == .idle ? 1 : 0 } ?? 0)
            clients.append(Double(session?.clients ?? 0))
            started.append(session?.startedAt ?? 0)
            fill.append(session == nil ? 0 : Double(bitPattern: channel.bufferFillBits.load(ordering: .relaxed)))
            let last = channel.lastDataNanoseconds.load(ordering: .relaxed)
            // Milliseconds are what a scrape needs, and decimals that short are written without a String.
            lastData.append(session == nil || last == 0 ? 0 : ((now - Double(uptime &- last) / 1e9) * 1000).rounded() / 1000)
        }

        writer.family("sharecast_streams", .gauge, help: "Running streams by state.")
        for (state, labels) in Self.stateLabels { writer.gauge(labels, Double(states[state] ?? 0)) }

        func counters(_ name: String, _ help: String, _ unit: String? = nil, _ values: [UInt64]) {
            writer.family(name, .counter, help: help, unit: unit)
            writer.counters(series, values)
        }
        func gauges(_ name: String, _ help: String, _ unit: String? = nil, _ values: [Double]) {
            writer.family(name, .gauge, help: help, unit: unit)
            writer.gauges(series, values)
        }

        gauges("sharecast_stream_up", "1 while the channel's upstream is delivering, else 0.", nil, up)
        gauges("sharecast_stream_clients", "Viewers of the channel now.", nil, clients)
        counters("sharecast_stream_upstream_received_bytes", "Bytes received from the channel's upstream.", "bytes", received)
        counters("sharecast_stream_sent_bytes", "Bytes sent to the channel's viewers.", "bytes", sent)
        counters("sharecast_stream_restarts", "Upstream reconnections of the channel.", nil, restarts)
        writer.family("sharecast_stream_upstream_errors", .counter, help: "Upstream failures of the channel, by kind.")
        writer.counters(table.errorSeries, errors)
        gauges("sharecast_stream_buffer_fill_ratio", "Share of the ring holding data the slowest viewer has not read.", "ratio", fill)
        gauges("sharecast_stream_last_data_timestamp_seconds", "When the channel's upstream last delivered bytes.", "seconds", lastData)
        gauges("sharecast_stream_started_timestamp_seconds", "When the channel's running session started.", "seconds", started)
        counters("sharecast_stream_ts_packets", "TS packets received from the upstream.", nil, packets)
        counters("sharecast_stream_ts_continuity_errors", "Continuity counter errors in the upstream's TS.", nil, continuity)
        counters("sharecast_stream_ts_sync_losses", "Times the upstream's TS lost packet sync.", nil, syncLosses)
        gauges("sharecast_stream_rate_bytes_per_second", "The upstream's rate measured from its PCRs (bytes, as Prometheus' base unit).", nil, rate)
        counters("sharecast_stream_stalls", "Times the upstream sent nothing for more than 3 s.", nil, stalls)
        gauges("sharecast_stream_upstream_backup", "1 while the channel streams from a backup URL rather than its primary.", nil, backup)
    }

    /// The series of `sharecast_streams{state}`, running sessions by state.
    static let stateLabels: [(StreamSnapshot.Status, LabelSet)] = [StreamSnapshot.Status.starting, .active, .idle].map {
        ($0, [("state", $0.rawValue)])
    }
}
