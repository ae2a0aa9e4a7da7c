import Foundation

/// A complete request as handlers see it: everything read, nothing C-owned.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path, percent-decoded, without the query.
    public var path: String
    /// Query arguments, percent-decoded; the first of repeated names wins (see `repeatedQueryNames`).
    public var query: [String: String]
    /// Query names given more than once, so handlers can refuse what they cannot tell apart.
    public var repeatedQueryNames: [String] = []
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The peer's numeric address (IPv4-mapped IPv6 peers are shown as IPv4).
    public var remoteAddress: String
    /// Path parameters filled in by the router (`:key` in a route's pattern).
    public var parameters: [String: String] = [:]

    public init(
        method: String, path: String, query: [String: String] = [:], headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], remoteAddress: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }
}
