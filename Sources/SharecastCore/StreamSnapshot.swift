import Foundation

/// A point-in-time picture of one shared stream (an upstream session of a channel) and its
/// viewers. The streaming layer makes these off the hot path, once a second; history, metrics and
/// the monitor API read them, so none of those ever touches the per-packet path.
public struct StreamSnapshot: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case starting, active, idle, error, stopped }

    /// Stable for the session's life; distinguishes sessions of the same channel.
    public var id: UUID
    public var channelID: String
    public var sourceURL: String
    /// `ts`, `hls` or `builtin`.
    public var format: String
    public var status: Status
    public var startedAt: Date
    public var stoppedAt: Date?
    public var lastDataAt: Date?
    public var clientCount: Int
    public var peakClientCount: Int
    public var bytesIn: Int64
    public var bytesOut: Int64
    /// Upstream rate over the last interval, in bits per second.
    public var bandwidthBitsPerSecond: Int64
    public var errorCount: Int
    public var restartCount: Int
    public var lastError: String?
    /// 0...1: the share of the ring holding data the slowest viewer has not read yet.
    public var bufferFill: Double
    /// Connected viewers, plus those that left since the previous snapshot.
    public var clients: [ClientSnapshot]

    public init(
        id: UUID, channelID: String, sourceURL: String, format: String, status: Status, startedAt: Date,
        stoppedAt: Date? = nil, lastDataAt: Date? = nil, clientCount: Int = 0, peakClientCount: Int = 0,
        bytesIn: Int64 = 0, bytesOut: Int64 = 0, bandwidthBitsPerSecond: Int64 = 0, errorCount: Int = 0,
        restartCount: Int = 0, lastError: String? = nil, bufferFill: Double = 0, clients: [ClientSnapshot] = []
    ) {
        self.id = id
        self.channelID = channelID
        self.sourceURL = sourceURL
        self.format = format
        self.status = status
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
        self.lastDataAt = lastDataAt
        self.clientCount = clientCount
        self.peakClientCount = peakClientCount
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.bandwidthBitsPerSecond = bandwidthBitsPerSecond
        self.errorCount = errorCount
        self.restartCount = restartCount
        self.lastError = lastError
        self.bufferFill = bufferFill
        self.clients = clients
    }
}

/// One viewer of a stream.
public struct ClientSnapshot: Sendable, Equatable {
    /// Why a viewer left.
    public enum DisconnectReason: String, Sendable, Codable, CaseIterable {
        case closed, lagging, timeout, streamStopped = "stream_stopped", kicked, shutdown
        /// The viewer's address opened another channel of the same full provider, which took
        /// over its slot (`providers[].zap_takeover`).
        case zapped
    }

    public var id: UUID
    public var ip: String
    public var userAgent: String?
    public var connectedAt: Date
    public var lastActivityAt: Date
    public var disconnectedAt: Date?
    public var bytesSent: Int64
    public var disconnectReason: DisconnectReason?
    /// The user (`users:`) whose personal playlist the viewer came from; nil for anonymous ones.
    public var user: String?

    public init(
        id: UUID, ip: String, userAgent: String?, connectedAt: Date, lastActivityAt: Date,
        disconnectedAt: Date? = nil, bytesSent: Int64 = 0, disconnectReason: DisconnectReason? = nil, user: String? = nil
    ) {
        self.id = id
        self.ip = ip
        self.userAgent = userAgent
        self.connectedAt = connectedAt
        self.lastActivityAt = lastActivityAt
        self.disconnectedAt = disconnectedAt
        self.bytesSent = bytesSent
        self.disconnectReason = disconnectReason
        self.user = user
    }
}

/// Receives stream snapshots to keep as history. Implementations must return quickly (queue the
/// work): they are called from the streaming layer's housekeeping thread.
public protocol StreamRecorder: Sendable {
    /// `sample` asks for a `shared_stream_stats` row per running stream as well.
    func record(_ streams: [StreamSnapshot], sample: Bool)
    /// Blocks until everything recorded so far is written.
    func flush()
}
