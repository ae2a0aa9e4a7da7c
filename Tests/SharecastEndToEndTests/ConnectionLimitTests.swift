import Foundation
import Logging
import SharecastCore
import SharecastHTTP
import Testing

/// One address cannot hold every descriptor, and sockets that never ask are closed early.
@Suite struct ConnectionLimitTests {
    static func server(_ configure: (inout HTTPServer.Configuration) -> Void) throws -> HTTPServer {
        var router = Router()
        router.get("/hello") { _ in .text("hello\n") }
        var logger = Logger(label: "limits")
        logger.logLevel = .critical
        var configuration = HTTPServer.Configuration(listen: "127.0.0.1", port: 0)
        configure(&configuration)
        return try HTTPServer(configuration: configuration, router: router, logger: logger)
    }

    /// One `GET /hello` on a new connection: the whole answer.
    static func hello(_ port: Int) throws -> String {
        try HTTPFramingTests.exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port).text
    }

    /// True when the server closed `socket` (end of file or reset) within the socket's timeout.
    static func isClosed(_ socket: LoopbackSocket) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1024)
        do {
            return try socket.receiveSome(into: &chunk) == 0
        } catch {
            return true
        }
    }

    @Test func anAddressAtItsCapIsRefusedUntilOneOfItsConnectionsCloses() async throws {
        let server = try Self.server { $0.maxConnectionsPerAddress = 3 }
        defer { server.shutdown(grace: .zero) }
        var held = try (0..<3).map { _ in try LoopbackSocket(port: server.port, receiveTimeoutSeconds: 1) }
        // The three are counted once MHD has them; the fourth is closed without an answer.
        try await waitUntil { server.openConnections(from: "127.0.0.1") == 3 }
        let fourth = try LoopbackSocket(port: server.port, receiveTimeoutSeconds: 2)
        #expect(Self.isClosed(fourth))
        held.removeLast()
        try await waitUntil { server.openConnections(from: "127.0.0.1") == 2 }
        #expect(try Self.hello(server.port).hasSuffix("hello\n"))
        _ = held
    }

    @Test func exemptAddressesHaveNoCap() async throws {
        let server = try Self.server {
            $0.maxConnectionsPerAddress = 2
            $0.exemptFromAddressCap = [CIDR("127.0.0.0/8")].compactMap { $0 }
        }
        defer { server.shutdown(grace: .zero) }
        let held = try (0..<5).map { _ in try LoopbackSocket(port: server.port, receiveTimeoutSeconds: 1) }
        try await waitUntil { server.openConnections(from: "127.0.0.1") == 5 }
        #expect(try Self.hello(server.port).hasSuffix("hello\n"))
        _ = held
    }

    @Test func aSocketThatNeverAsksIsClosedAfterTheIdleTimeout() async throws {
        let server = try Self.server { $0.connectionTimeout = 1 }
        defer { server.shutdown(grace: .zero) }
        let idle = try LoopbackSocket(port: server.port, receiveTimeoutSeconds: 4)
        #expect(Self.isClosed(idle), "closed after about a second, not after the stream timeout")
    }
}
