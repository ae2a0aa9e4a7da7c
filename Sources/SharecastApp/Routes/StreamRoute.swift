import SharecastCore
import SharecastHTTP
import SharecastStreaming

/// `GET /stream/<key>` (also `<key>.ts`): the channel's live MPEG-TS, shared with every other viewer
/// of the channel through one upstream connection.
///
/// An unknown or malformed key gets the same 404 as any unknown path, so keys cannot be probed.
/// At the session limit the answer is 503 with `Retry-After`; viewers of running channels still join.
///
/// A viewer of a stream that has not delivered yet is not answered until it does: `200` then, or,
/// when the upstream fails first or sends nothing within `first_byte_timeout`, `502`/`503`/`504`
/// with a JSON reason. A player told `200` and then sent nothing shows a black screen and retries
/// blindly; an error status is something it (and its user) can act on.
enum StreamRoute {
    /// Seconds a client is told to wait when every session slot is taken.
    static let retryAfterSeconds = 10

    static func held(_ body: any StreamingBody, sessions: SessionManager) -> HTTPResponse {
        let stream = HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t"), ("Cache-Control", "no-store")]), body: .stream(body))
        let pending = PendingResponse()
        sessions.whenStarted(body) { outcome in
            switch outcome {
            case .ready:
                if !pending.resolve(stream) { sessions.abandon(body, reason: .shutdown) }
            case let .failed(status, code, message):
                sessions.abandon(body, reason: status == 504 ? .timeout : .streamStopped)
                pending.resolve(.error(status: status, code: code, message: message, headers: [("Retry-After", "\(retryAfterSeconds)")]))
            }
        }
        // Decided at once (the stream already plays, or had failed): answered without a suspend.
        if let now = pending.takeIfResolved() { return now }
        pending.onAbandon { sessions.abandon(body, reason: .shutdown) }
        // While held, the viewer's hang-up is noticed like a parked viewer's.
        pending.onSuspend { connection in body.opened(connection) }
        return .pending(pending)
    }

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
                return held(body, sessions: sessions)
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
