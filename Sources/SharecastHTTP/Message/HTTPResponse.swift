import Foundation

/// What a handler answers. Bodies are bytes in memory, an open file, or a `StreamingBody` that
/// MHD pulls from as the client reads (live streams, which have no end and no length).
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Sent without a copy; see `ResponseMemory`.
        case memory(ResponseMemory)
        /// Sent from the file with `sendfile`; see `ResponseFile`.
        case file(ResponseFile)
        case stream(any StreamingBody)
        /// Not known yet; the connection waits for `PendingResponse.resolve`.
        case pending(PendingResponse)
    }

    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", contentType)]), body: .bytes(Array(text.utf8)))
    }

    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(value) else {
            return .error(status: 500, code: "encoding_failed", message: "the response could not be encoded")
        }
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(Array(data)))
    }

    /// The project's error shape: `{"error":{"code":"...","message":"..."}}`.
    public static func error(status: Int, code: String, message: String, headers extra: [(String, String)] = []) -> HTTPResponse {
        let body = "{\"error\":{\"code\":\(jsonString(code)),\"message\":\(jsonString(message))}}"
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        for (name, value) in extra { headers.add(name, value) }
        return HTTPResponse(status: status, headers: headers, body: .bytes(Array(body.utf8)))
    }

    public static func notFound() -> HTTPResponse {
        .error(status: 404, code: "not_found", message: "no such resource")
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
