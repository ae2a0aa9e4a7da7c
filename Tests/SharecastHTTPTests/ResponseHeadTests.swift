import Foundation
import Testing
@testable import SharecastHTTP

/// The head a stream's own delivery writes: the handler's headers, except framing ones (any
/// case) and any with a line break, then its own `Date` and `Connection: close`.
@Suite struct ResponseHeadTests {
    @Test func writesTheHandlersHeadersAndItsOwnFraming() {
        let response = HTTPResponse(status: 200, headers: HTTPHeaders([
            (name: "Content-Type", value: "video/mp2t"),
            (name: "Content-LENGTH", value: "12"),
            (name: "transfer-encoding", value: "chunked"),
            (name: "X-Split", value: "a\r\nSet-Cookie: x"),
            (name: "Bad:Name", value: "v"),
            (name: "Cache-Control", value: "no-store"),
        ]))
        let head = String(decoding: ResponseHead.bytes(response, date: DateHeaderCache().text(now: Date(timeIntervalSince1970: 784_111_777))), as: UTF8.self)
        #expect(head == "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nCache-Control: no-store\r\n"
            + "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: close\r\n\r\n")
    }

    @Test func anUnlistedStatusStillHasAReason() {
        let head = String(decoding: ResponseHead.bytes(HTTPResponse(status: 502), date: "Thu, 01 Jan 1970 00:00:00 GMT"), as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 502 Status\r\n"))
    }

    @Test func theDateTextFollowsTheSecond() {
        let cache = DateHeaderCache()
        #expect(cache.text(now: Date(timeIntervalSince1970: 784_111_777.2)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(cache.text(now: Date(timeIntervalSince1970: 784_111_777.9)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(cache.text(now: Date(timeIntervalSince1970: 784_111_778.0)) == "Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(cache.text(now: Date(timeIntervalSince1970: .nan)) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
