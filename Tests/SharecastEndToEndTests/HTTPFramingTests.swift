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
        // Header names in any case are the same headers.
        ("POST /upload HTTP/1.1\r\nHost: x\r\ncontent-LENGTH: 5\r\nTRANSFER-encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhelloGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        // Far over the cap (more than four times max_body_bytes): refused without reading it.
        ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n", 413),
        // Over the cap from a client waiting for 100 Continue: refused before it sends.
        ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n", 413),
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

    /// A chunked body that keeps coming past four times the cap: its connection is closed while
    /// it comes (the answer would only be sent after all of it).
    @Test func anEndlessChunkedBodyIsCutOff() throws {
        let server = try Self.server()
        defer { server.shutdown(grace: .zero) }
        let socket = try LoopbackSocket(port: server.port, receiveTimeoutSeconds: 5)
        try socket.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = "10000\r\n" + String(repeating: "x", count: 0x10000) + "\r\n"
        var sent = 0
        // 16 MiB at most; the server gives up after 4 MiB (and the socket buffers hold a few more).
        while sent < 256, (try? socket.send(chunk)) != nil { sent += 1 }
        #expect(sent < 256, "the server read 16 MiB of an endless body")
        #expect(Self.isClosed(socket))
    }

    static func isClosed(_ socket: LoopbackSocket) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            do {
                guard let count = try socket.receiveSome(into: &buffer) else { return false }
                if count == 0 { return true }
            } catch {
                return true
            }
        }
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
