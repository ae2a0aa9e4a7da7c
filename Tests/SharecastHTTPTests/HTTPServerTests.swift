import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Synchronization
import Testing
import SharecastSync
@testable import SharecastHTTP

/// A body that hands out `total` bytes of a counting pattern in steps released by `release()`,
/// so tests control exactly when data exists and see parking and waking work.
final class ReleasedBody: StreamingBody, @unchecked Sendable {
    struct State {
        var available = 0
        var sent = 0
        var waiter: (any ResponseWaker)?
        var closedWith: (Int64, Bool)?
    }

    let total: Int
    let state = Locked(State())

    init(total: Int) {
        self.total = total
    }

    func release(_ count: Int) {
        let waiter = state.withLock { state -> (any ResponseWaker)? in
            state.available += count
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.wake()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead {
        state.withLock { state in
            if state.sent == total { return .end }
            let count = min(buffer.count, state.available - state.sent)
            guard count > 0 else {
                state.waiter = waker
                return .wait
            }
            for index in 0..<count { buffer[index] = UInt8(truncatingIfNeeded: state.sent + index) }
            state.sent += count
            return .bytes(count)
        }
    }

    func close(bytesSent: Int64, completed: Bool) {
        state.withLock { $0.closedWith = (bytesSent, completed) }
    }
}

@Suite struct HTTPServerTests {
    static func makeServer(_ configure: (inout Router) -> Void) throws -> HTTPServer {
        var router = Router()
        configure(&router)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try HTTPServer(configuration: .init(listen: "127.0.0.1", port: 0), router: router, logger: logger)
    }

    @Test func routesWithParametersQueryHeadersAndBodies() async throws {
        let server = try Self.makeServer { router in
            router.get("/hello/:name") { request in
                .text("hello \(request.parameters["name"] ?? "?") from \(request.remoteAddress) q=\(request.query["q"] ?? "") ua=\(request.headers["user-agent"] ?? "")")
            }
            router.add("POST", "/echo") { request in
                HTTPResponse(status: 201, body: .bytes(request.body))
            }
        }
        defer { server.shutdown() }
        let base = "http://127.0.0.1:\(server.port)"
        var request = URLRequest(url: URL(string: "\(base)/hello/world?q=a%20b")!)
        request.setValue("tester/1", forHTTPHeaderField: "User-Agent")
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self) == "hello world from 127.0.0.1 q=a b ua=tester/1")

        var post = URLRequest(url: URL(string: "\(base)/echo")!)
        post.httpMethod = "POST"
        post.httpBody = Data("payload".utf8)
        let (echoed, echoResponse) = try await URLSession.shared.data(for: post)
        #expect((echoResponse as? HTTPURLResponse)?.statusCode == 201)
        #expect(String(decoding: echoed, as: UTF8.self) == "payload")
    }

    @Test func errorsAreJSONWithTheRightStatus() async throws {
        let server = try Self.makeServer { router in
            router.get("/only-get") { _ in .text("ok") }
        }
        defer { server.shutdown() }
        let base = "http://127.0.0.1:\(server.port)"
        let (missing, missingResponse) = try await URLSession.shared.data(from: URL(string: "\(base)/nope")!)
        #expect((missingResponse as? HTTPURLResponse)?.statusCode == 404)
        #expect(try JSONSerialization.jsonObject(with: missing) as? [String: [String: String]] == ["error": ["code": "not_found", "message": "no such resource"]])

        var delete = URLRequest(url: URL(string: "\(base)/only-get")!)
        delete.httpMethod = "DELETE"
        let (_, deleteResponse) = try await URLSession.shared.data(for: delete)
        let http = try #require(deleteResponse as? HTTPURLResponse)
        #expect(http.statusCode == 405)
        #expect(http.value(forHTTPHeaderField: "Allow") == "GET")
        #expect(http.value(forHTTPHeaderField: "Content-Type") == "application/json")
    }

    @Test func oversizedBodiesAreRefused() async throws {
        let server = try Self.makeServer { router in
            router.add("POST", "/upload") { _ in .text("accepted") }
        }
        defer { server.shutdown() }
        var post = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/upload")!)
        post.httpMethod = "POST"
        post.httpBody = Data(count: (1 << 20) + 1)
        let (_, response) = try await URLSession.shared.data(for: post)
        #expect((response as? HTTPURLResponse)?.statusCode == 413)
    }

    /// The body has nothing at first, so the connection parks; each release wakes it and the client
    /// receives exactly the released bytes, in order, then the end.
    @Test func streamingResponsesParkAndWake() async throws {
        let body = ReleasedBody(total: 300_000)
        let server = try Self.makeServer { router in
            router.get("/live") { _ in HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .stream(body)) }
        }
        defer { server.shutdown() }
        let url = URL(string: "http://127.0.0.1:\(server.port)/live")!
        let task = Task { try await URLSession.shared.data(from: url) }
        // URLSession's first connection can take seconds on a loaded machine.
        try await waitUntil(timeout: .seconds(20)) { server.openStreams == 1 && body.state.withLock { $0.waiter != nil } }
        for _ in 0..<3 {
            body.release(100_000)
            try await Task.sleep(for: .milliseconds(20))
        }
        let (data, response) = try await task.value
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") == "video/mp2t")
        #expect(data.count == 300_000)
        #expect(data.enumerated().allSatisfy { $0.element == UInt8(truncatingIfNeeded: $0.offset) })
        try await waitUntil { body.state.withLock { $0.closedWith != nil } }
        #expect(body.state.withLock { $0.closedWith?.0 } == 300_000)
        #expect(body.state.withLock { $0.closedWith?.1 } == true)
    }

    @Test func shutdownEndsParkedStreams() async throws {
        let body = ReleasedBody(total: .max)
        let server = try Self.makeServer { router in
            router.get("/live") { _ in HTTPResponse(body: .stream(body)) }
        }
        let url = URL(string: "http://127.0.0.1:\(server.port)/live")!
        let task = Task { try? await URLSession.shared.data(from: url) }
        try await waitUntil(timeout: .seconds(20)) { body.state.withLock { $0.waiter != nil } }
        server.shutdown()
        #expect(server.openStreams == 0)
        #expect(body.state.withLock { $0.closedWith?.1 } == false)
        _ = await task.value
    }

    @Test func portInUseIsAClearError() throws {
        let first = try Self.makeServer { _ in }
        defer { first.shutdown() }
        #expect(throws: HTTPServerError.self) {
            try HTTPServer(configuration: .init(listen: "127.0.0.1", port: first.port), router: Router(), logger: Logger(label: "t"))
        }
        #expect(throws: HTTPServerError.badListenAddress("nowhere")) {
            try HTTPServer(configuration: .init(listen: "nowhere", port: 0), router: Router(), logger: Logger(label: "t"))
        }
    }
}

/// Polls `condition` every 10 ms until it holds, failing after `timeout`.
func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("condition not met within \(timeout)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
