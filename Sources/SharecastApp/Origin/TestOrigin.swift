import Logging
import SharecastCore
import SharecastHTTP
import SharecastTS
import Synchronization
import SharecastSync

/// A stand-in IPTV provider: every GET (other than `/stats`) is a new upstream connection playing
/// the built-in test pattern, paced at its real rate (optionally padded to a higher bitrate with
/// null packets). It counts the connections it has served and has open, which is what tests and
/// benchmarks check to prove that Sharecast shares one upstream among many viewers.
///
/// Run it with `sharecast origin --port N`; `GET /stats` answers
/// `{"connections_served": N, "connections_open": M}`.
public final class TestOrigin: Sendable {
    public struct Counts: Codable, Sendable, Equatable {
        public var connectionsServed: Int
        public var connectionsOpen: Int

        public init(connectionsServed: Int, connectionsOpen: Int) {
            self.connectionsServed = connectionsServed
            self.connectionsOpen = connectionsOpen
        }

        enum CodingKeys: String, CodingKey {
            case connectionsServed = "connections_served"
            case connectionsOpen = "connections_open"
        }
    }

    private let server: HTTPServer
    private let ticker: WakeTicker
    private let counters: OriginCounters

    public var port: Int { server.port }
    public var counts: Counts { counters.counts }
    /// The header lines of the last stream request, as `Name: value` (to check what upstreams are sent).
    public var lastRequestHeaders: [String] { counters.lastRequestHeaders.withLock { $0 } }

    public enum StartError: Error, CustomStringConvertible {
        case noClip
        case server(HTTPServerError)

        public var description: String {
            switch self {
            case .noClip: "the built-in test clip is missing or damaged"
            case let .server(error): error.description
            }
        }
    }

    public init(
        listen: String = "127.0.0.1", port: Int = 0, targetBitsPerSecond: Int64? = nil, paced: Bool = true,
        logger: Logger
    ) throws(StartError) {
        guard let clip = TSClip.testPattern else { throw .noClip }
        let ticker = WakeTicker()
        self.ticker = ticker
        let box = OriginCounters()
        counters = box
        var router = Router()
        router.get("/stats") { _ in .json(box.counts) }
        router.get("/*", name: "stream") { request in
            box.lastRequestHeaders.withLock { $0 = request.headers.fields.map { "\($0.name): \($0.value)" } }
            box.served.add(1, ordering: .relaxed)
            box.open.add(1, ordering: .relaxed)
            let body = TestPatternBody(clip: clip, ticker: ticker, targetBitsPerSecond: targetBitsPerSecond, paced: paced) { _ in
                box.open.subtract(1, ordering: .relaxed)
            }
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .stream(body))
        }
        var configuration = HTTPServer.Configuration(listen: listen, port: port)
        configuration.threads = 1
        do {
            server = try HTTPServer(configuration: configuration, router: router, logger: logger)
        } catch {
            ticker.stop()
            throw .server(error)
        }
    }

    public func shutdown() {
        server.shutdown()
        ticker.stop()
    }
}

/// The origin's connection counters, shared with its route handlers.
final class OriginCounters: Sendable {
    let served = Atomic<Int>(0)
    let open = Atomic<Int>(0)
    let lastRequestHeaders = Locked<[String]>([])

    var counts: TestOrigin.Counts {
        TestOrigin.Counts(connectionsServed: served.load(ordering: .relaxed), connectionsOpen: open.load(ordering: .relaxed))
    }
}
