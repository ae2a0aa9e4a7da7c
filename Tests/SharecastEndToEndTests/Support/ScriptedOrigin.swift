import Foundation
import Logging
import SharecastHTTP
import Synchronization
import SharecastSync

/// An upstream that answers each path with fixed text, for providers that misbehave: playlists with
/// absurd numbers, playlists that name themselves, HTML pages answered with 200. It counts requests
/// per path.
final class ScriptedOrigin: Sendable {
    let server: HTTPServer
    final class Counts: Sendable {
        let values = Locked<[String: Int]>([:])
    }

    private let counts: Counts

    typealias Response = (status: Int, contentType: String, text: String)

    /// `responses` maps a path (without the query) to the status and text it answers.
    convenience init(_ responses: [String: Response]) throws {
        try self.init(dynamic: responses.mapValues { response in { @Sendable _ in response } })
    }

    /// `dynamic` maps a path to what its n-th request (from 1) gets.
    init(dynamic: [String: @Sendable (Int) -> Response]) throws {
        var router = Router()
        let counts = Counts()
        self.counts = counts
        for (path, respond) in dynamic {
            router.get(path) { _ in
                let number = counts.values.withLock { counts -> Int in
                    counts[path, default: 0] += 1
                    return counts[path] ?? 0
                }
                let response = respond(number)
                return .text(response.text, status: response.status, contentType: response.contentType)
            }
        }
        var logger = Logger(label: "scripted-origin")
        logger.logLevel = .critical
        server = try HTTPServer(configuration: .init(listen: "127.0.0.1", port: 0), router: router, logger: logger)
    }

    var port: Int { server.port }
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
    func requests(_ path: String) -> Int { counts.values.withLock { $0[path] ?? 0 } }
    var totalRequests: Int { counts.values.withLock { $0.values.reduce(0, +) } }

    func shutdown() {
        server.shutdown()
    }
}
