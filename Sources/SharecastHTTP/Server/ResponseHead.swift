import Foundation

/// The status line and headers of a response that Sharecast writes itself (`DirectDelivery`):
/// the handler's headers, a `Date`, and `Connection: close`, the body running until the close
/// (no chunked encoding, which only costs bytes on a stream that never ends).
///
/// Written byte by byte into one buffer: this runs on every stream join before its first byte
/// (docs/performance.md), so it builds no intermediate strings or sets.
enum ResponseHead {
    static func bytes(_ response: HTTPResponse, date: String) -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(256)
        head += "HTTP/1.1 ".utf8
        head += String(response.status).utf8
        head.append(UInt8(ascii: " "))
        head += reason(response.status).utf8
        head += "\r\n".utf8
        for (name, value) in response.headers where !isFraming(name) {
            // Values come from handlers; one with a line break would split the head.
            guard !name.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == UInt8(ascii: ":") }),
                  !value.utf8.contains(where: { $0 == 13 || $0 == 10 }) else { continue }
            head += name.utf8
            head += ": ".utf8
            head += value.utf8
            head += "\r\n".utf8
        }
        head += "Date: ".utf8
        head += date.utf8
        head += "\r\nConnection: close\r\n\r\n".utf8
        return head
    }

    /// The headers this head writes itself or that would contradict a body running to the close.
    static let framing = ["connection", "content-length", "transfer-encoding", "date"]

    /// Whether `name` is one of `framing`, ignoring ASCII case.
    static func isFraming(_ name: String) -> Bool {
        framing.contains { name.caseInsensitiveEquals($0) }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 206: "Partial Content"
        case 404: "Not Found"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
