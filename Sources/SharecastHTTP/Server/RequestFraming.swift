/// Checks a request's message framing (RFC 9112 section 6) before its body is read, for what
/// libmicrohttpd 0.9.75 lets through. Behind a reverse proxy, a request the proxy and Sharecast
/// would frame differently is how requests get smuggled: such a request is answered with an error
/// and its connection closed, never read on.
extension HTTPServer {
    /// `RequestFraming.check` for the fuzz targets: nil when the request is acceptable, else its status.
    public static func framingVerdict(_ headers: [(name: String, value: String)], maxBodyBytes: Int) -> Int? {
        if case let .refuse(status, _, _) = RequestFraming.check(headers, maxBodyBytes: maxBodyBytes) { return status }
        return nil
    }
}

enum RequestFraming {
    /// How many times `max_body_bytes` a too-large body may be before it is refused without
    /// being read.
    static let drainFactor = 4

    enum Verdict: Equatable {
        case acceptable
        /// Too large, but small enough to read and drop before answering 413.
        case drainThenRefuse
        /// Answer `status` with `message` and close the connection.
        case refuse(status: Int, code: String, message: String)
    }

    /// `headers` as received, repeated names included (names compared without case).
    static func check(_ headers: [(name: String, value: String)], maxBodyBytes: Int) -> Verdict {
        let lengths = headers.filter { $0.name.caseInsensitiveEquals("content-length") }.map(\.value)
        let encodings = headers.filter { $0.name.caseInsensitiveEquals("transfer-encoding") }.map(\.value)
        if !encodings.isEmpty {
            if !lengths.isEmpty {
                return .refuse(status: 400, code: "bad_framing", message: "Content-Length and Transfer-Encoding together")
            }
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercased() }
            guard codings == ["chunked"] else {
                return .refuse(status: 501, code: "unsupported_transfer_encoding",
                               message: "Transfer-Encoding \(encodings.joined(separator: ", ")) is not supported; only chunked")
            }
            return .acceptable
        }
        guard !lengths.isEmpty else { return .acceptable }
        // Several values (one header with a list, or the header repeated) must all be the same number.
        let values = lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { $0.trimmingSpaces }
        var length: Int?
        for value in values {
            guard !value.isEmpty, value.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(value) else {
                return .refuse(status: 400, code: "bad_framing", message: "Content-Length \"\(value.prefix(40))\" is not a length")
            }
            if let length, length != number {
                return .refuse(status: 400, code: "bad_framing", message: "Content-Length given twice with different values")
            }
            length = number
        }
        if let length, length > maxBodyBytes {
            // A body up to `drainFactor` times the cap is read and dropped, then refused: a client
            // still sending when the connection closes gets a reset instead of the 413. Past that,
            // reading it would be the attacker's gain; it is refused at once.
            let (drain, overflow) = maxBodyBytes.multipliedReportingOverflow(by: drainFactor)
            guard !overflow, length <= drain else {
                return .refuse(status: 413, code: "body_too_large", message: "request body exceeds \(maxBodyBytes) bytes")
            }
            return .drainThenRefuse
        }
        return .acceptable
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
