import Foundation
import Logging
import SharecastHTTP
import Testing

/// Requests a proxy in front could frame differently are answered with an error and their
/// connection closed (RFC 9112 section 6): nothing after them is read as another request.
@Suite struct HTTPFramingTests {
    static func server() throws -> HTTPServer {
        var router = Router()
        router.add("POST", "/upload") { request in .text("got \(request.body.count)\n") }
        router.get("/hello") { _ in .text("hello\n") }
        var logger = Logger(label: "framing")
        logger.logLevel = .critical
        return try HTTPServer(configuration: .init(listen: "127.0.0.1", port: 0), router: router, logger: logger)
    }

    /// Sends `request` and reads until the server closes (or 5 s pass): what came back, and
    /// whether the connection was closed.
    static func exchange(_ request: String, port: Int) throws -> (text: String, closed: Bool) {
        let socket = try LoopbackSocket(port: port, receiveTimeoutSeconds: 5)
        try socket.send(request)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            guard let count = try? socket.receiveSome(into: &chunk) else { return (String(decoding: received, as: UTF8.self), false) }
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += chunk[0..<count]
        }
    }

    /// What Sharecast's handler sees and refuses: one JSON error, then the connection closes.
    @Test(arguments: [
        ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhelloGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413),
    ])
    func badFramingIsRefusedAndTheConnectionClosed(_ request: String, _ status: Int) throws {
        let server = try Self.server()
        defer { server.shutdown(grace: .zero) }
        let (text, closed) = try Self.exchange(request, port: server.port)
        #expect(text.hasPrefix("HTTP/1.1 \(status) "), "\(text)")
        #expect(text.components(separatedBy: "HTTP/1.1 ").count == 2, "exactly one response: \(text)")
        #expect(text.contains(#""error":{"code":"#))
        #expect(closed, "the connection is closed at once")
        #expect(!text.contains("hello\n"))
    }

    /// Content-Length values libmicrohttpd cannot read are answered by libmicrohttpd itself before
    /// any handler runs (0.9.75 repeats its header block there): still a 400 and a closed
    /// connection, and nothing after them is served.
    @Test(arguments: [
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhelloGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 7\r\n\r\nhelloGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    ])
    func unreadableLengthsAreRefusedByTheHTTPLibrary(_ request: String) throws {
        let server = try Self.server()
        defer { server.shutdown(grace: .zero) }
        let (text, closed) = try Self.exchange(request, port: server.port)
        #expect(text.hasPrefix("HTTP/1.1 400 "), "\(text)")
        #expect(closed)
        #expect(!text.contains("hello\n") && !text.contains("got "))
    }

    @Test func wellFramedRequestsStillShareAConnection() throws {
        let server = try Self.server()
        defer { server.shutdown(grace: .zero) }
        let (text, _) = try Self.exchange(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                + "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                + "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: server.port)
        #expect(text.contains("got 5\n") && text.contains("got 3\n") && text.contains("hello\n"), "\(text)")
    }
}
