/// Decides whether a new connection's first bytes are an MPEG-TS stream, before they count as data.
///
/// A provider that answers 200 with an HTML error page, a JSON message or a login form would
/// otherwise look like a working upstream: bytes arrive, the reconnect attempts reset, and the
/// session retries forever with health reading "healthy". A connection only counts once three sync
/// bytes stand one packet apart; one that sends `limit` bytes without that is refused.
///
/// The bytes of an undecided connection are held here (at most `limit`, once per connection, never
/// on the per-packet path) and handed back with the verdict, so no packet is lost.
public struct TSSniffer: Sendable {
    public enum Verdict: Equatable, Sendable {
        /// Not enough bytes yet; the sniffer holds them.
        case needMore
        /// A TS stream. `held` is what to pass on instead of the current chunk (earlier chunks and
        /// this one), or nil when the current chunk alone decided and is to be passed on as it is.
        case transportStream(held: [UInt8]?)
        /// Not a TS stream; `reason` says what it looks like instead, for the log and the API.
        case notTransportStream(reason: String)
    }

    /// Bytes a connection may send before its first three aligned packets.
    public let limit: Int
    private var held: [UInt8] = []

    public init(limit: Int = 64 * 1024) {
        self.limit = max(limit, 3 * TSPacket.size)
    }

    /// Looks at the next chunk of the connection.
    public mutating func inspect(_ chunk: UnsafeRawBufferPointer) -> Verdict {
        if held.isEmpty, Self.findsPackets(chunk) { return .transportStream(held: nil) }
        held.append(contentsOf: chunk.prefix(limit - min(held.count, limit)))
        let found = held.withUnsafeBytes { Self.findsPackets($0) }
        if found {
            defer { held = [] }
            return .transportStream(held: held)
        }
        guard held.count >= limit else { return .needMore }
        defer { held = [] }
        return .notTransportStream(reason: Self.describe(held))
    }

    /// Bytes held for an undecided connection (for a reason when the transfer ends before a verdict).
    public var heldBytes: Int { held.count }

    /// What the held bytes look like, when the transfer ended before a verdict.
    public var undecidedReason: String { Self.describe(held) }

    /// Three sync bytes one packet apart, starting anywhere in the first packet's length.
    static func findsPackets(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let span = 2 * TSPacket.size
        guard bytes.count > span else { return false }
        for offset in 0..<min(TSPacket.size, bytes.count - span) where bytes[offset] == TSPacket.syncByte {
            if bytes[offset + TSPacket.size] == TSPacket.syncByte, bytes[offset + span] == TSPacket.syncByte { return true }
        }
        return false
    }

    /// A short, printable description of bytes that are not TS: an HTML page says so, anything else
    /// shows its first printable characters.
    static func describe(_ bytes: [UInt8]) -> String {
        let start = bytes.prefix(512)
        let text = String(decoding: start, as: UTF8.self).lowercased()
        if text.contains("<html") || text.contains("<!doctype html") { return "not an MPEG-TS stream: the upstream sent an HTML page" }
        let printable = start.prefix(40).map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "." }
        return "not an MPEG-TS stream: \(bytes.count) bytes without three aligned packets, starting '\(String(printable))'"
    }
}
