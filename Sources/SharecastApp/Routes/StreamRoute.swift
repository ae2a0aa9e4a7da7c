import SharecastCore
import SharecastHTTP
import SharecastStore
import SharecastStreaming
import SharecastSync

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

    /// How errors are told: the project's JSON, or also SiliconDust's `X-HDHomeRun-Error` header
    /// (a tune URL: media servers show "all tuners in use" for 805 rather than a broken channel).
    enum Flavor: Sendable {
        case plain
        case hdhomerun

        /// `busy`: refused for want of a free slot (805); otherwise a tune that failed (806) or
        /// brought no data in time (807).
        func decorate(_ response: HTTPResponse, busy: Bool = false) -> HTTPResponse {
            guard self == .hdhomerun, response.status >= 400 else { return response }
            var response = response
            let code = busy ? "805 All Tuners In Use" : response.status == 504 ? "807 No Video Data" : "806 Tune Failed"
            response.headers.add("X-HDHomeRun-Error", code)
            return response
        }
    }

    /// Resolves `pending` once the viewer's session has delivered (200 and the stream) or failed.
    static func settle(_ body: any StreamingBody, sessions: SessionManager, pending: PendingResponse, flavor: Flavor = .plain) {
        let stream = HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t"), ("Cache-Control", "no-store")]), body: .stream(body))
        sessions.whenStarted(body) { outcome in
            switch outcome {
            case .ready:
                if !pending.resolve(stream) { sessions.abandon(body, reason: .shutdown) }
            case let .failed(status, code, message):
                sessions.abandon(body, reason: status == 504 ? .timeout : .streamStopped)
                pending.resolve(flavor.decorate(.error(status: status, code: code, message: message, headers: [("Retry-After", "\(retryAfterSeconds)")])))
            }
        }
    }

    /// Attaches the viewer and holds the answer until its session has delivered or failed. When
    /// every slot of the channel's provider is taken, the answer also waits up to `zap_wait` for
    /// one (the viewer zapping away from another channel of it frees one), then plays or is 503.
    static func answer(_ channel: CatalogChannel, request: HTTPRequest, requestedAt: ContinuousClock.Instant,
                       sessions: SessionManager, user: String? = nil, flavor: Flavor = .plain) -> HTTPResponse {
        let pending = PendingResponse()
        // The suspended connection and the viewer, whichever comes first: the viewer's hang-up is
        // noticed like a parked viewer's once both are known.
        let parts = Locked<(connection: (any ResponseConnection)?, body: (any StreamingBody)?)>((nil, nil))
        pending.onSuspend { handle in
            if let body = parts.withLock({ parts -> (any StreamingBody)? in parts.connection = handle; return parts.body }) { body.opened(handle) }
        }
        sessions.attachWhenFree(channel: channel, ip: request.remoteAddress, userAgent: request.headers["User-Agent"], user: user,
                                requestedAt: requestedAt) { result in
            switch result {
            case let .success(body):
                pending.onAbandon { sessions.abandon(body, reason: .shutdown) }
                if let handle = parts.withLock({ parts -> (any ResponseConnection)? in parts.body = body; return parts.connection }) { body.opened(handle) }
                settle(body, sessions: sessions, pending: pending, flavor: flavor)
            case let .failure(error):
                pending.resolve(flavor.decorate(refusal(error), busy: error.isBusy))
            }
        }
        // Decided at once (the stream already plays, or was refused): answered without a suspend.
        if let now = pending.takeIfResolved() { return now }
        return .pending(pending)
    }

    static func refusal(_ error: SessionManager.AttachError) -> HTTPResponse {
        switch error {
        case let .atCapacity(limit):
            .error(status: 503, code: "stream_limit",
                   message: "all \(limit) stream slots are in use (shared_streaming.max_concurrent_streams); try again later",
                   headers: [("Retry-After", "\(retryAfterSeconds)")])
        case let .unavailable(reason):
            .error(status: 503, code: "stream_unavailable", message: reason, headers: [("Retry-After", "\(retryAfterSeconds)")])
        case let .providerUnusable(provider):
            .error(status: 503, code: "provider_account",
                   message: "no login of provider \(provider) can be used (the panel reports them expired, banned or refused; see GET /api/monitor/providers)",
                   headers: [("Retry-After", "\(retryAfterSeconds)")])
        case let .providerFull(provider):
            .error(status: 503, code: "provider_full",
                   message: "every connection of provider \(provider) is in use; try again later or stop another of its channels",
                   headers: [("Retry-After", "\(retryAfterSeconds)")])
        }
    }

    static func handler(catalog: ChannelCatalog, sessions: SessionManager) -> Router.Handler {
        { request in
            let requestedAt = ContinuousClock.now
            guard let stored = channel(request, catalog: catalog, sessions: sessions) else { return .notFound() }
            return answer(stored.channel, request: request, requestedAt: requestedAt, sessions: sessions)
        }
    }

    /// `GET /u/<secret>/stream/<key>`: the same stream, with the viewer attributed to the user. A
    /// channel outside the user's groups is a 404; over the user's `max_streams` it is 429.
    static func userHandler(catalog: ChannelCatalog, sessions: SessionManager, users: UserDirectory) -> Router.Handler {
        { request in
            let requestedAt = ContinuousClock.now
            guard let user = users.user(secret: Substring(request.parameters["secret"] ?? "")),
                  let stored = channel(request, catalog: catalog, sessions: sessions), user.sees(stored.channel) else { return .notFound() }
            if let limit = user.maxStreams, sessions.viewerCount(user: user.name) >= limit {
                return .error(status: 429, code: "user_limit",
                              message: "user \(user.name) may watch \(limit) stream\(limit == 1 ? "" : "s") at once (users[].max_streams); stop one first",
                              headers: [("Retry-After", "\(retryAfterSeconds)")])
            }
            return answer(stored.channel, request: request, requestedAt: requestedAt, sessions: sessions, user: user.name)
        }
    }

    /// The channel of the request's key. The table is a randomly seeded hash, so the lookup's
    /// time says nothing about how close a guess was; the final comparison is constant-time too.
    static func channel(_ request: HTTPRequest, catalog: ChannelCatalog, sessions: SessionManager) -> StoredChannel? {
        var key = Substring(request.parameters["key"] ?? "")
        if key.utf8.count > 3, key.utf8.suffix(3).elementsEqual(".ts".utf8) { key = key.dropLast(3) }
        let wanted = String(key)
        guard StreamKey.isWellFormed(key), let stored = catalog.channel(forKey: wanted),
              ConstantTime.equals(stored.streamKey, wanted) else {
            sessions.metrics.reject(.unknownKey)
            return nil
        }
        return stored
    }
}

extension SessionManager.AttachError {
    /// Refused because every slot (ours or the provider's) is taken, not because the channel is broken.
    var isBusy: Bool {
        switch self {
        case .atCapacity, .providerFull: true
        case .unavailable, .providerUnusable: false
        }
    }
}
