import Foundation
import SharecastCore
import SharecastGuide
import SharecastHTTP
import SharecastStore
import SharecastSync

/// `GET /epg.xml` and `GET /epg.xml.gz`: the guide of the catalog's channels, streamed from the
/// store as the client reads it (never built whole in memory), with an ETag and Last-Modified
/// that give 304 to a client that has it already.
///
/// Each catalog channel is one `<channel>` whose id is the tvg-id the playlists give it (its own
/// id when the provider gave none), with display names "<number> <name>", "<name>" and
/// "<number>". Its programmes come from the first source, in configuration order, that has any.
enum GuideRoute {
    static func handler(catalog: ChannelCatalog, database: SharecastDatabase, sources: [String], settings: GuideConfig, gzip: Bool) -> Router.Handler {
        { request in
            let records = (try? database.guideSources()) ?? []
            let channels = guideChannels(catalog)
            let now = Int64(Date().timeIntervalSince1970)
            let tag = etag(records: records, channels: channels, hour: now / 3600, gzip: gzip)
            let modified = records.map(\.importedAt).max() ?? Date(timeIntervalSince1970: 0)
            let lastModified = httpDate(modified)
            let headers: [(String, String)] = [("ETag", tag), ("Last-Modified", lastModified), ("Cache-Control", "no-cache")]
            if let match = request.headers["If-None-Match"], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == tag || $0 == "*" }) {
                return HTTPResponse(status: 304, headers: HTTPHeaders(headers))
            }
            if request.headers["If-None-Match"] == nil, request.headers["If-Modified-Since"] == lastModified {
                return HTTPResponse(status: 304, headers: HTTPHeaders(headers))
            }
            let body = GuideBody(channels: channels, database: database, sources: sources,
                                 from: now - Int64(settings.pastDays) * 86_400, until: now + Int64(settings.futureDays) * 86_400, gzip: gzip)
            let type = gzip ? "application/gzip" : "application/xml; charset=utf-8"
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", type)] + headers), body: .stream(body))
        }
    }

    struct Channel: Sendable {
        var id: String
        var names: [String]
        var icon: String?
    }

    /// One entry per served id, in catalog order.
    static func guideChannels(_ catalog: ChannelCatalog) -> [Channel] {
        var seen = Set<String>()
        var result: [Channel] = []
        for stored in catalog.current.channels {
            let id = GuideService.servedID(stored.channel)
            guard seen.insert(id).inserted else { continue }
            let name = stored.channel.name
            let names = stored.channel.number.map { ["\($0) \(name)", name, "\($0)"] } ?? [name]
            result.append(Channel(id: id, names: names, icon: stored.channel.logo))
        }
        return result
    }

    static func etag(records: [GuideSourceRecord], channels: [Channel], hour: Int64, gzip: Bool) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            hash ^= 0xFF
        }
        for record in records { mix("\(record.name)=\(record.generation)") }
        for channel in channels { mix(channel.id + "|" + channel.names.joined(separator: "|") + "|" + (channel.icon ?? "")) }
        mix("\(hour)")
        return "\"g\(String(hash, radix: 16))\(gzip ? "-gz" : "")\""
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}

/// The guide as a streaming body: the header and channels first, then each channel's programmes,
/// produced a channel at a time when the client has taken what came before.
final class GuideBody: StreamingBody, Sendable {
    struct State {
        var pending: [UInt8] = []
        var offset = 0
        /// -1: header and channels not sent yet; channels.count: footer sent.
        var next = -1
        var finished = false
        var deflater: Deflater?
    }

    private let channels: [GuideRoute.Channel]
    private let database: SharecastDatabase
    private let sources: [String]
    private let from: Int64, until: Int64
    /// Touched only under its lock, by the one server thread serving the response at a time.
    private let state: Locked<State>
    private let gzip: Bool

    init(channels: [GuideRoute.Channel], database: SharecastDatabase, sources: [String], from: Int64, until: Int64, gzip: Bool) {
        self.channels = channels
        self.database = database
        self.sources = sources
        self.from = from
        self.until = until
        self.gzip = gzip
        state = Locked(State(deflater: gzip ? Deflater() : nil))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead {
        state.withLock { state in
            while state.offset >= state.pending.count {
                if state.finished { return .end }
                state.pending.removeAll(keepingCapacity: true)
                state.offset = 0
                produce(&state)
            }
            let count = min(buffer.count, state.pending.count - state.offset)
            state.pending.withUnsafeBytes { source in
                buffer.baseAddress?.copyMemory(from: source.baseAddress! + state.offset, byteCount: count)
            }
            state.offset += count
            return .bytes(count)
        }
    }

    /// The next piece of the document into `state.pending`: the head, one channel's programmes,
    /// or the footer.
    private func produce(_ state: inout State) {
        var text = ""
        var last = false
        if state.next < 0 {
            text = XMLTVWriter.header(generator: "Sharecast \(SharecastVersion.current)")
            for channel in channels { text += XMLTVWriter.channel(id: channel.id, displayNames: channel.names, icon: channel.icon) }
        } else if state.next < channels.count {
            let channel = channels[state.next]
            for source in sources {
                let rows = (try? database.programmes(channel: channel.id, source: source, from: from, until: until)) ?? []
                guard !rows.isEmpty else { continue }
                for row in rows { text += XMLTVWriter.programme(channel: channel.id, start: row.start, stop: row.stop, body: row.body) }
                break
            }
        } else {
            text = XMLTVWriter.footer
            last = true
        }
        state.next += 1
        let bytes = Array(text.utf8)
        if let deflater = state.deflater {
            deflater.deflate(bytes, finish: last, into: &state.pending)
        } else {
            state.pending = bytes
        }
        if last { state.finished = true }
    }

    func close(bytesSent: Int64, completed: Bool) {}
}
