import Foundation
import Logging
import SharecastCore
import SharecastGuide
import SharecastHDHomeRun
import SharecastHTTP
import SharecastMonitor
import SharecastRules
import SharecastStore
import SharecastStreaming
import SharecastTS
import SharecastUpstream

/// Every parser of outside input, as a function of bytes: what libFuzzer drives (`make fuzz`,
/// `Fuzz/`), and what `make test` runs over each committed corpus once. A target returns
/// normally for any input; a trap, an overflow or a sanitizer report is the finding.
public enum FuzzTargets {
    public static let all: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        ("m3u", m3u), ("config", config), ("hls", hls), ("ts-aligner", tsAligner), ("promql", promql),
        ("rule-file", ruleFile), ("rule-test", ruleTest), ("monitor-api", monitorAPI), ("http-framing", httpFraming),
        ("xtream", xtream), ("hdhomerun-discovery", hdhomerunDiscovery),
        ("xmltv", xmltv),
    ]

    public static func named(_ name: String) -> (@Sendable ([UInt8]) -> Void)? {
        all.first { $0.name == name }?.run
    }

    static func m3u(_ bytes: [UInt8]) {
        guard let result = try? M3UParser(source: "fuzz.m3u").parse(bytes) else { return }
        _ = CatalogChannel.fromPlaylist(result.entries, playlist: "fuzz")
        _ = M3UWriterCheck.write(result.entries)
    }

    /// An Xtream panel's JSON: the first byte picks the document (account, categories, streams);
    /// streams are also turned into catalog channels.
    static func xtream(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let json = Array(bytes.dropFirst())
        switch selector % 3 {
        case 0: _ = try? XtreamParser.accountInfo(json)
        case 1: _ = try? XtreamParser.categories(json)
        default:
            guard let (streams, _) = try? XtreamParser.streams(json) else { return }
            let entries = XtreamCatalog.entries(streams: streams, categories: [XtreamCategory(id: "1", name: "News")], server: "http://panel.example")
            _ = CatalogChannel.fromPlaylist(entries, playlist: "fuzz")
        }
    }

    /// A UDP datagram to the discovery port: parsed, matched against a device and, when it asks
    /// for it, answered.
    static func hdhomerunDiscovery(_ bytes: [UInt8]) {
        guard let request = try? DiscoveryPacket.parseRequest(bytes), let id = HDHomeRunDeviceID(hex: "1A2B3C46") else { return }
        if request.matches(deviceID: id.value) {
            _ = DiscoveryPacket.encodeReply(.init(deviceID: id, tunerCount: request.deviceTypes.count, baseURL: "http://127.0.0.1:8085",
                                                  lineupURL: "http://127.0.0.1:8085/lineup.json", deviceAuth: "fuzz"))
        }
    }

    /// An XMLTV guide (gzip when it starts like one), fed in pieces whose size the first byte
    /// sets; every programme is written out again as it would be stored.
    static func xmltv(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let chunk = Int(first % 64) + 1
        let document = Array(bytes.dropFirst())
        var reader = XMLTVReader(source: "fuzz.xml")
        var mapper = GuideMapper(targets: [GuideMapper.Target(servedID: "a", name: "News One HD", tvgID: "news1.example")])
        func drain() throws {
            while let item = try reader.next() {
                switch item {
                case let .channel(channel): mapper.learn(channel)
                case let .programme(programme):
                    _ = mapper.served(for: programme.channel)
                    _ = XMLTVWriter.programme(channel: programme.channel, start: programme.start, stop: programme.stop, body: XMLTVWriter.body(programme))
                }
            }
        }
        do {
            var pieces: [ArraySlice<UInt8>] = []
            if document.count >= 2, document[0] == 0x1F, document[1] == 0x8B, let inflater = Inflater() {
                var total = 0
                try inflater.inflate(document[...]) { piece in
                    total += piece.count
                    guard total <= 1 << 22 else { throw GuideError(source: "fuzz", line: 0, column: 0, reason: "too large") }
                    pieces.append(piece)
                }
            } else {
                pieces = [document[...]]
            }
            for piece in pieces {
                var offset = piece.startIndex
                while offset < piece.endIndex {
                    reader.feed(piece[offset..<min(offset + chunk, piece.endIndex)])
                    offset += chunk
                    try drain()
                }
            }
            reader.finish()
            try drain()
        } catch {}
    }

    static func config(_ bytes: [UInt8]) {
        _ = try? ConfigLoader.parse(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml", readsSecretFiles: false)
    }

    static func hls(_ bytes: [UInt8]) {
        guard let playlist = try? HLSPlaylist.parse(String(decoding: bytes, as: UTF8.self), url: "http://fuzz.example/live/index.m3u8?t=1"),
              case let .master(variants) = playlist else { return }
        _ = HLSSource.choose(variants, maxBandwidth: 1_000_000)
    }

    /// The aligner and the sniffer, fed the input in pieces whose sizes the input's first byte sets.
    static func tsAligner(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        var data = Array(bytes.dropFirst())
        let step = Int(first) * 7 + 1
        var aligner = TSPacketAligner()
        var sniffer = TSSniffer(limit: 4096)
        data.withUnsafeMutableBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + step, all.count)
                let piece = UnsafeMutableRawBufferPointer(rebasing: all[offset..<end])
                _ = sniffer.inspect(UnsafeRawBufferPointer(piece))
                aligner.feed(piece) { packets, join in
                    precondition(packets.count % TSPacket.size == 0, "the aligner passed on a torn packet")
                    if let join { precondition(join >= 0, "a join point before the start") }
                }
                if first & 1 == 1, offset % 3 == 0 { aligner.markDiscontinuity() }
                offset = end
            }
        }
    }

    static func promql(_ bytes: [UInt8]) {
        guard let query = try? Query(String(decoding: bytes, as: UTF8.self)) else { return }
        let store = SampleStore()
        store.append(["__name__": "x", "a": "1"], Point(t: 0, v: 1))
        store.append(["__name__": "x", "a": "2"], Point(t: 60_000, v: 2))
        _ = try? Evaluator(source: store).evaluate(query, at: 120_000)
    }

    static func ruleFile(_ bytes: [UInt8]) {
        let (groups, _) = RuleFileLoader.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.yml")
        guard !groups.isEmpty else { return }
        let store = SampleStore()
        store.append(["__name__": "x"], Point(t: 0, v: 1))
        for group in groups.prefix(4) { GroupState(group: group).evaluate(at: 60_000, source: store, store: store) }
    }

    /// promtool's series notation as a rule test file's input series and expected samples use it.
    static func ruleTest(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        _ = try? SeriesNotation.labels(String(parts.first ?? ""))
        _ = try? SeriesNotation.values(parts.count > 1 ? String(parts[1]) : "")
    }

    /// The monitor API's query parameters and JSON bodies, through its real handlers over a live
    /// (empty) session manager and database. The input is `<route byte><query>\n<body>`. The URL
    /// probe is left out: it resolves host names, and fuzzing sends nothing off this machine.
    static func monitorAPI(_ bytes: [UInt8]) {
        guard let api = MonitorFixture.shared.api, let selector = bytes.first else { return }
        let routes = api.routes.filter { $0.pattern != "/api/monitor/streams/test" }
        let route = routes[Int(selector) % routes.count]
        let rest = bytes.dropFirst()
        let split = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
        let queryText = String(decoding: rest[rest.startIndex..<split], as: UTF8.self)
        var request = HTTPRequest(method: route.method, path: route.pattern, body: Array(rest[split...].dropFirst()))
        for pair in queryText.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : ""
            if request.query[name] == nil { request.query[name] = value } else { request.repeatedQueryNames.append(name) }
        }
        request.headers = HTTPHeaders([("Content-Type", "application/json")])
        request.parameters = ["id": queryText.prefix(36).description, "client": queryText.suffix(36).description]
        _ = route.handler(request)
    }

    /// Request framing headers, as `<name>: <value>` lines.
    static func httpFraming(_ bytes: [UInt8]) {
        let headers = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line -> (name: String, value: String) in
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        _ = HTTPServer.framingVerdict(headers, maxBodyBytes: 1 << 20)
    }
}

/// One session manager and database for the monitor-API target, made once per process.
final class MonitorFixture: Sendable {
    static let shared = MonitorFixture()
    let api: MonitorAPI?

    private init() {
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let directory = NSTemporaryDirectory() + "sharecast-fuzz-\(getpid())"
        guard let loop = UpstreamLoop(logger: logger), let database = try? SharecastDatabase(path: directory + "/db.sqlite") else {
            api = nil
            return
        }
        let sessions = SessionManager(settings: SessionManager.Settings(), loop: loop, recorder: nil, logger: logger)
        api = MonitorAPI(context: MonitorContext(
            sessions: sessions, database: database, bufferPath: directory, channelName: { _ in nil },
            cleanup: { CleanupReport() }, probe: StreamProbe(allowPrivate: false)
        ))
    }
}

/// Writing what was parsed back out must not fail either (the playlist route does it).
enum M3UWriterCheck {
    static func write(_ entries: [M3UEntry]) -> Int {
        entries.reduce(0) { $0 + $1.displayName.utf8.count }
    }
}
