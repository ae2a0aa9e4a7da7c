import Foundation
import SharecastCore
import SharecastGuide
import SharecastHTTP
import SharecastStore
import SharecastSync

/// `GET /epg.xml` and `GET /epg.xml.gz`: the guide of the catalog's channels, with an ETag and
/// Last-Modified that give 304 to a client that has it already. The first request for a
/// document streams it from the store as the client reads it (never built whole in memory) and
/// writes it to the `GuideDocumentCache`; later ones are sent from that file.
///
/// Each catalog channel is one `<channel>` whose id is the tvg-id the playlists give it (its own
/// id when the provider gave none), with display names "<number> <name>", "<name>" and
/// "<number>". Its programmes come from the first source, in configuration order, that has any.
enum GuideRoute {
    static func handler(catalog: ChannelCatalog, database: SharecastDatabase, sources: [String], settings: GuideConfig,
                        cache: GuideDocumentCache?, gzip: Bool) -> Router.Handler {
        let listing = ChannelListing()
        return { request in
            let records = (try? database.guideSources()) ?? []
            let (channels, digest) = listing.channels(of: catalog)
            // The window moves by whole days (UTC), so a document is a function of its key and is
            // rendered again at most once a day besides imports: from past_days before today's
            // start to the end of the last future day.
            let dayStart = Int64(Date().timeIntervalSince1970) / 86_400 * 86_400
            let key = cacheKey(records: records, channelsDigest: digest, day: dayStart / 86_400, settings: settings)
            let tag = "\"\(key)\(gzip ? "-gz" : "")\""
            let modified = records.map(\.importedAt).max() ?? Date(timeIntervalSince1970: 0)
            let lastModified = HTTPDate.string(modified)
            let headers: [(String, String)] = [("ETag", tag), ("Last-Modified", lastModified), ("Cache-Control", "no-cache")]
            if let match = request.headers["If-None-Match"], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == tag || $0 == "*" }) {
                return HTTPResponse(status: 304, headers: HTTPHeaders(headers))
            }
            if request.headers["If-None-Match"] == nil, request.headers["If-Modified-Since"] == lastModified {
                return HTTPResponse(status: 304, headers: HTTPHeaders(headers))
            }
            let type = gzip ? "application/gzip" : "application/xml; charset=utf-8"
            let name = key + (gzip ? ".xml.gz" : ".xml")
            if let file = cache?.file(named: name) {
                return HTTPResponse(headers: HTTPHeaders([("Content-Type", type)] + headers), body: .file(file))
            }
            let body = GuideBody(channels: channels, database: database, sources: sources,
                                 from: dayStart - Int64(settings.pastDays) * 86_400, until: dayStart + Int64(settings.futureDays + 1) * 86_400,
                                 gzip: gzip, cache: cache?.begin(name: name, key: key))
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", type)] + headers), body: .stream(body))
        }
    }

    struct Channel: Sendable {
        var id: String
        var names: [String]
        var icon: String?
    }

    /// One entry per served id, in catalog order.
    static func guideChannels(_ snapshot: ChannelCatalog.Snapshot) -> [Channel] {
        var seen = Set<String>()
        var result: [Channel] = []
        for stored in snapshot.channels {
            let id = GuideService.servedID(stored.channel)
            guard seen.insert(id).inserted else { continue }
            let name = stored.channel.name
            let names = stored.channel.number.map { ["\($0) \(name)", name, "\($0)"] } ?? [name]
            result.append(Channel(id: id, names: names, icon: stored.channel.logo))
        }
        return result
    }

    /// The guide's channels and their digest, made again only when the catalog is reloaded (a
    /// catalog of 20 000 channels costs milliseconds to list, which a cached request must not pay).
    final class ChannelListing: Sendable {
        private let made = Locked<(version: UInt64, channels: [Channel], digest: UInt64)?>(nil)

        func channels(of catalog: ChannelCatalog) -> ([Channel], UInt64) {
            let snapshot = catalog.current
            if let made = made.withLock({ $0 }), made.version == snapshot.version { return (made.channels, made.digest) }
            let channels = guideChannels(snapshot)
            var hash = StableHash()
            for channel in channels { hash.mixField(channel.id + "|" + channel.names.joined(separator: "|") + "|" + (channel.icon ?? "")) }
            made.withLock { $0 = (snapshot.version, channels, hash.value) }
            return (channels, hash.value)
        }
    }

    /// What the document is made of: the sources' generations, the channels, the day and the
    /// window, and the version that renders it. The ETag and the cache file name.
    static func cacheKey(records: [GuideSourceRecord], channelsDigest: UInt64, day: Int64, settings: GuideConfig) -> String {
        var hash = StableHash()
        for record in records { hash.mixField("\(record.name)=\(record.generation)") }
        hash.mixField("\(channelsDigest)|\(day)|\(settings.pastDays)|\(settings.futureDays)|\(SharecastVersion.current)")
        return "g\(String(hash.value, radix: 16))"
    }

}

/// The guide as a streaming body: the header and channels first, then each channel's programmes,
/// produced a batch of channels at a time when the client has taken what came before.
final class GuideBody: StreamingBody, Sendable {
    struct State {
        var pending: [UInt8] = []
        var offset = 0
        /// -1: header and channels not sent yet; channels.count: footer sent.
        var next = -1
        var finished = false
        var deflater: Deflater?
        /// The cache file the document is written into as it is produced, if any.
        var cache: GuideDocumentCache.Pending?
    }

    private let channels: [GuideRoute.Channel]
    private let database: SharecastDatabase
    private let sources: [String]
    private let from: Int64, until: Int64
    /// Touched only under its lock, by the one server thread serving the response at a time.
    private let state: Locked<State>
    private let gzip: Bool
    /// Channels rendered per store read: a few MB of text at most for a week of programmes.
    static let batchChannels = 64

    init(channels: [GuideRoute.Channel], database: SharecastDatabase, sources: [String], from: Int64, until: Int64, gzip: Bool,
         cache: GuideDocumentCache.Pending? = nil) {
        self.channels = channels
        self.database = database
        self.sources = sources
        self.from = from
        self.until = until
        self.gzip = gzip
        state = Locked(State(deflater: gzip ? Deflater() : nil, cache: cache))
    }

    deinit {
        state.withLock { $0.cache?.discard() }
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

    /// The next piece of the document into `state.pending`: the head, a batch of channels'
    /// programmes, or the footer.
    private func produce(_ state: inout State) {
        var text = ""
        var last = false
        if state.next < 0 {
            text = XMLTVWriter.header(generator: "Sharecast \(SharecastVersion.current)")
            for channel in channels { text += XMLTVWriter.channel(id: channel.id, displayNames: channel.names, icon: channel.icon) }
        } else if state.next < channels.count {
            // A batch of channels per read; each gets the programmes of the first source with any.
            let batch = channels[state.next..<min(channels.count, state.next + Self.batchChannels)]
            var found: [String: [StoredProgramme]] = [:]
            for source in sources {
                let missing = batch.lazy.map(\.id).filter { found[$0] == nil }
                guard !missing.isEmpty else { break }
                let rows = (try? database.programmes(channels: missing, source: source, from: from, until: until)) ?? [:]
                found.merge(rows) { first, _ in first }
            }
            for channel in batch {
                for row in found[channel.id] ?? [] { text += XMLTVWriter.programme(channel: channel.id, start: row.start, stop: row.stop, body: row.body) }
            }
            state.next += batch.count - 1
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
        state.cache?.append(state.pending)
        if last {
            state.finished = true
            state.cache?.commit()
            state.cache = nil
        }
    }

    /// A response that ended before the document was whole leaves no cache file.
    func close(bytesSent: Int64, completed: Bool) {
        state.withLock { state in
            state.cache?.discard()
            state.cache = nil
        }
    }
}
