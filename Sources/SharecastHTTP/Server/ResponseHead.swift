import Foundation

/// The status line and headers of a response that Sharecast writes itself (`DirectDelivery`):
/// the handler's headers, a `Date`, and `Connection: close`, the body running until the close
/// (no chunked encoding, which only costs bytes on a stream that never ends).
enum ResponseHead {
    static func bytes(_ response: HTTPResponse) -> [UInt8] {
        var text = "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
        let framing: Set<String> = ["connection", "content-length", "transfer-encoding", "date"]
        for (name, value) in response.headers where !framing.contains(name.lowercased()) {
            // Values come from handlers; one with a line break would split the head.
            guard !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }),
                  !value.contains(where: { $0 == "\r" || $0 == "\n" }) else { continue }
            text += "\(name): \(value)\r\n"
        }
        text += "Date: \(HTTPDate.string(Date()))\r\nConnection: close\r\n\r\n"
        return Array(text.utf8)
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
