import Foundation
import SharecastCore
import SharecastStore

/// A stream as the API shows it, live or from history.
struct StreamView: Encodable, Sendable {
    var id: String
    var channelId: String
    var channelName: String?
    var status: String
    var health: String
    var format: String
    var sourceUrl: String
    var startedAt: Date
    var stoppedAt: Date?
    var lastDataAt: Date?
    var uptimeSeconds: Int
    var clientCount: Int
    var peakClientCount: Int
    var bytesIn: Int64
    var bytesOut: Int64
    var bandwidthKbps: Double
    var bufferFill: Double
    var errorCount: Int
    var restartCount: Int
    var lastError: String?
    var live: Bool
    var clients: [ClientView]?
    var lastStats: StatSampleView?
    /// Live streams in the realtime view and by id: the channel's programme now and next.
    var guide: NowNextView?

    init(live snapshot: StreamSnapshot, channelName: String?, health: String, withClients: Bool, now: Date = Date()) {
        id = snapshot.id.lowercasedString
        channelId = snapshot.channelID
        self.channelName = channelName
        status = snapshot.status.rawValue
        self.health = health
        format = snapshot.format
        sourceUrl = snapshot.sourceURL
        startedAt = snapshot.startedAt
        stoppedAt = snapshot.stoppedAt
        lastDataAt = snapshot.lastDataAt
        uptimeSeconds = max(0, Int(now.timeIntervalSince(snapshot.startedAt)))
        clientCount = snapshot.clientCount
        peakClientCount = snapshot.peakClientCount
        bytesIn = snapshot.bytesIn
        bytesOut = snapshot.bytesOut
        bandwidthKbps = Self.kbps(snapshot.bandwidthBitsPerSecond)
        bufferFill = snapshot.bufferFill
        errorCount = snapshot.errorCount
        restartCount = snapshot.restartCount
        lastError = snapshot.lastError
        live = true
        clients = withClients ? snapshot.clients.filter { $0.disconnectedAt == nil }.map { ClientView(live: $0, now: now) } : nil
    }

    init(history row: SharedStreamRecord, channelName: String?, now: Date = Date()) {
        id = (row.sessionId ?? "row-\(row.id ?? 0)").lowercased()
        channelId = row.channelId
        self.channelName = channelName
        status = row.status.rawValue
        health = row.health.rawValue
        format = row.format.rawValue
        sourceUrl = row.sourceUrl
        startedAt = row.startedAt
        stoppedAt = row.stoppedAt
        lastDataAt = nil
        uptimeSeconds = max(0, Int((row.stoppedAt ?? now).timeIntervalSince(row.startedAt)))
        clientCount = row.clientCount
        peakClientCount = row.peakClientCount
        bytesIn = row.bytesIn
        bytesOut = row.bytesOut
        bandwidthKbps = Self.kbps(row.bandwidthBps)
        bufferFill = 0
        errorCount = row.errorCount
        restartCount = row.restartCount
        lastError = row.lastError
        live = false
    }

    static func kbps(_ bitsPerSecond: Int64) -> Double {
        (Double(bitsPerSecond) / 100).rounded() / 10
    }
}

/// A viewer of a stream.
struct ClientView: Encodable, Sendable {
    var id: String
    var ip: String
    var userAgent: String?
    var connectedAt: Date
    var lastActivityAt: Date
    var disconnectedAt: Date?
    var disconnectReason: String?
    var bytesSent: Int64
    /// Average rate since the viewer joined.
    var kbps: Double
    /// The user whose playlist the viewer came from (absent for anonymous viewers).
    var user: String?

    init(live client: ClientSnapshot, now: Date = Date()) {
        self.init(id: client.id.lowercasedString, ip: client.ip, userAgent: client.userAgent, connectedAt: client.connectedAt,
                  lastActivityAt: client.lastActivityAt, disconnectedAt: client.disconnectedAt,
                  disconnectReason: client.disconnectReason, bytesSent: client.bytesSent, user: client.user, now: now)
    }

    init(history row: SharedStreamClientRecord, now: Date = Date()) {
        self.init(id: row.clientId, ip: row.ip, userAgent: row.userAgent, connectedAt: row.connectedAt,
                  lastActivityAt: row.lastActivityAt, disconnectedAt: row.disconnectedAt,
                  disconnectReason: row.disconnectReason, bytesSent: row.bytesSent, user: row.userName, now: now)
    }

    private init(id: String, ip: String, userAgent: String?, connectedAt: Date, lastActivityAt: Date, disconnectedAt: Date?,
                 disconnectReason: ClientSnapshot.DisconnectReason?, bytesSent: Int64, user: String?, now: Date) {
        self.user = user
        self.id = id.lowercased()
        self.ip = ip
        self.userAgent = userAgent
        self.connectedAt = connectedAt
        self.lastActivityAt = lastActivityAt
        self.disconnectedAt = disconnectedAt
        self.disconnectReason = disconnectReason?.rawValue
        self.bytesSent = bytesSent
        kbps = Self.rate(bytes: bytesSent, from: connectedAt, to: disconnectedAt ?? now)
    }

    static func rate(bytes: Int64, from: Date, to: Date) -> Double {
        let seconds = to.timeIntervalSince(from)
        guard seconds > 0 else { return 0 }
        return (Double(bytes) * 8 / 1000 / seconds * 10).rounded() / 10
    }
}

/// The latest `shared_stream_stats` row of a stream.
struct StatSampleView: Encodable, Sendable {
    var sampledAt: Date
    var clientCount: Int
    var bandwidthKbps: Double
    var bytesIn: Int64
    var bytesOut: Int64
    var bufferFill: Double
    var errorCount: Int

    init(_ row: SharedStreamStatRecord) {
        sampledAt = row.sampledAt
        clientCount = row.clientCount
        bandwidthKbps = StreamView.kbps(row.bandwidthBps)
        bytesIn = row.bytesIn
        bytesOut = row.bytesOut
        bufferFill = row.bufferFill
        errorCount = row.errorCount
    }
}
