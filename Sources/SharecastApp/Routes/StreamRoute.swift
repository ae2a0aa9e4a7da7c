import SharecastCore
import SharecastHTTP
import SharecastStreaming

/// `GET /stream/<key>` (also `<key>.ts`): the channel's live MPEG-TS, shared with every other viewer
/// of the channel through one upstream connection.
///
/// An unknown or malformed key gets the same 404 as any unknown path, so keys cannot be probed.
/// At the session limit the answer is 503 with `Retry-After`; viewers of running channels still join.
enum StreamRoute {
    /// Seconds a client is told to wait when every session slot is taken.
    static let retryAfterSeconds = 10

    static func handler(catalog: ChannelCatalog, sessions: SessionManager) -> Router.Handler {
        { request in
            let requestedAt = ContinuousClock.now
            var key = Substring(request.parameters["key"] ?? "")
            if key.hasSuffix(".ts") { key = key.dropLast(3) }
            // The table is a randomly seeded hash, so the lookup's time says nothing about how close a
            // guess was; the final comparison is constant-time as well.
            guard StreamKey.isWellFormed(key), let stored = catalog.channel(forKey: String(key)),
                  ConstantTime.equals(stored.streamKey, String(key)) else {
                sessions.metrics.reject(.unknownKey)
                return .notFound()
            }
            switch sessions.attach(channel: stored.channel, ip: request.remoteAddress, userAgent: request.headers["User-Agent"], requestedAt: requestedAt) {
            case let .success(body):
                return HTTPResponse(
                    headers: HTTPHeaders([("Content-Type", "video/mp2t"), ("Cache-Control", "no-store")]),
                    body: .stream(body)
                )
            case let .failure(.atCapacity(limit)):
                return .error(status: 503, code: "stream_limit",
                              message: "all \(limit) stream slots are in use (shared_streaming.max_concurrent_streams); try again later",
                              headers: [("Retry-After", "\(retryAfterSeconds)")])
            case let .failure(.unavailable(reason)):
                return .error(status: 503, code: "stream_unavailable", message: reason, headers: [("Retry-After", "\(retryAfterSeconds)")])
            }
        }
    }
}
