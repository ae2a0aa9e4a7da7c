import Foundation
import SharecastCore
import SharecastMetrics
import SharecastUpstream
import Synchronization

/// One channel's cumulative figures, kept across its sessions (a restarted channel's counters go
/// on from where they were). The upstream loop and viewers' MHD threads add to them with single
/// atomic operations.
public final class ChannelCounters: Sendable {
    public let channelID: String
    /// Label sets made once, not per scrape.
    let labels: [(String, String)]
    let errorLabels: [UpstreamFailure.Kind: [(String, String)]]
    let created = Date().timeIntervalSince1970
    let receivedBytes = Atomic<UInt64>(0)
    let sentBytes = Atomic<UInt64>(0)
    let restarts = Atomic<UInt64>(0)
    let tsPackets = Atomic<UInt64>(0)
    let continuityErrors = Atomic<UInt64>(0)
    let syncLosses = Atomic<UInt64>(0)
    let stalls = Atomic<UInt64>(0)
    let bitrate = Atomic<Int64>(0)
    let upstreamErrors: [UpstreamFailure.Kind: Counter]

    init(channelID: String) {
        self.channelID = channelID
        labels = [("channel", channelID)]
        errorLabels = Dictionary(uniqueKeysWithValues: UpstreamFailure.Kind.allCases.map { ($0, [("channel", channelID), ("reason", $0.rawValue)]) })
        let created = self.created
        upstreamErrors = Dictionary(uniqueKeysWithValues: UpstreamFailure.Kind.allCases.map { ($0, Counter(created: created)) })
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
    private let channels = Mutex<[String: ChannelCounters]>([:])
    /// No bytes for this long counts as a stall.
    public static let stallThreshold: Duration = .seconds(3)

    public enum RejectReason: String, Sendable, CaseIterable {
        case streamLimit = "stream_limit", unavailable, unknownKey = "unknown_key"
    }

    public init(registry: MetricsRegistry) {
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

    func channel(_ id: String) -> ChannelCounters {
        channels.withLock { table in
            if let existing = table[id] { return existing }
            let counters = ChannelCounters(channelID: id)
            table[id] = counters
            return counters
        }
    }

    /// Per-channel families for the channels in `catalog`; counters of channels that left the
    /// catalog are dropped. Gauges of a channel without a running session read 0.
    public func channelFamilies(sessions: [SessionFigures], catalog: Set<String>) -> [MetricFamily] {
        let counters = channels.withLock { table -> [ChannelCounters] in
            for id in table.keys where !catalog.contains(id) { table[id] = nil }
            return table.values.sorted { $0.channelID < $1.channelID }
        }
        let byChannel = Dictionary(sessions.map { ($0.channelID, $0) }, uniquingKeysWith: { first, _ in first })
        func counterFamily(_ name: String, _ help: String, _ unit: String?, _ value: (ChannelCounters) -> UInt64) -> MetricFamily {
            MetricFamily(name: name, kind: .counter, help: help, unit: unit, series: counters.map {
                .init(labels: $0.labels, value: .counter(Double(value($0)), created: $0.created))
            })
        }
        func gaugeFamily(_ name: String, _ help: String, _ unit: String?, _ value: (ChannelCounters, SessionFigures?) -> Double) -> MetricFamily {
            MetricFamily(name: name, kind: .gauge, help: help, unit: unit, series: counters.map {
                .init(labels: $0.labels, value: .gauge(value($0, byChannel[$0.channelID])))
            })
        }
        var families = [
            gaugeFamily("sharecast_stream_up", "1 while the channel's upstream is delivering, else 0.", nil) { _, session in
                session.map { $0.status == .active || $0.status == .idle ? 1 : 0 } ?? 0
            },
            gaugeFamily("sharecast_stream_clients", "Viewers of the channel now.", nil) { _, session in Double(session?.clientCount ?? 0) },
            counterFamily("sharecast_stream_upstream_received_bytes", "Bytes received from the channel's upstream.", "bytes") {
                $0.receivedBytes.load(ordering: .relaxed)
            },
            counterFamily("sharecast_stream_sent_bytes", "Bytes sent to the channel's viewers.", "bytes") { $0.sentBytes.load(ordering: .relaxed) },
            counterFamily("sharecast_stream_restarts", "Upstream reconnections of the channel.", nil) { $0.restarts.load(ordering: .relaxed) },
        ]
        families.append(MetricFamily(
            name: "sharecast_stream_upstream_errors", kind: .counter, help: "Upstream failures of the channel, by kind.",
            series: counters.flatMap { counters in
                UpstreamFailure.Kind.allCases.map { kind in
                    .init(labels: counters.errorLabels[kind] ?? [],
                          value: .counter(Double(counters.upstreamErrors[kind]?.current ?? 0), created: counters.created))
                }
            }
        ))
        families += [
            gaugeFamily("sharecast_stream_buffer_fill_ratio", "Share of the ring holding data the slowest viewer has not read.", "ratio") { _, session in
                session?.bufferFill ?? 0
            },
            gaugeFamily("sharecast_stream_last_data_timestamp_seconds", "When the channel's upstream last delivered bytes.", "seconds") { _, session in
                session?.lastDataAt ?? 0
            },
            gaugeFamily("sharecast_stream_started_timestamp_seconds", "When the channel's running session started.", "seconds") { _, session in
                session?.startedAt ?? 0
            },
            counterFamily("sharecast_stream_ts_packets", "TS packets received from the upstream.", nil) { $0.tsPackets.load(ordering: .relaxed) },
            counterFamily("sharecast_stream_ts_continuity_errors", "Continuity counter errors in the upstream's TS.", nil) {
                $0.continuityErrors.load(ordering: .relaxed)
            },
            counterFamily("sharecast_stream_ts_sync_losses", "Times the upstream's TS lost packet sync.", nil) { $0.syncLosses.load(ordering: .relaxed) },
            gaugeFamily("sharecast_stream_rate_bytes_per_second", "The upstream's rate measured from its PCRs (bytes, as Prometheus' base unit).", nil) { counters, session in
                session == nil ? 0 : Double(counters.bitrate.load(ordering: .relaxed)) / 8
            },
            counterFamily("sharecast_stream_stalls", "Times the upstream sent nothing for more than 3 s.", nil) { $0.stalls.load(ordering: .relaxed) },
        ]
        return families
    }

    /// `sharecast_streams{state}`: running sessions by state.
    public static func stateFamily(_ sessions: [SessionFigures]) -> MetricFamily {
        let states: [StreamSnapshot.Status] = [.starting, .active, .idle]
        return MetricFamily(name: "sharecast_streams", kind: .gauge, help: "Running streams by state.", series: states.map { state in
            .init(labels: [("state", state.rawValue)], value: .gauge(Double(sessions.filter { $0.status == state }.count)))
        })
    }
}
