/// Why an upstream attempt failed: a kind with bounded values (the `reason` label of
/// `sharecast_stream_upstream_errors_total`) and the full message for people.
public struct UpstreamFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case connect, httpStatus = "http_status", stall, eof, tooLarge = "too_large", badPlaylist = "bad_playlist",
             badData = "bad_data", other
    }

    public var kind: Kind
    public var message: String
    /// The HTTP status of an `http_status` failure.
    public var status: Int?

    public init(_ kind: Kind, _ message: String, status: Int? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
    }

    /// A status with which providers refuse a login that is busy elsewhere, over its limit,
    /// expired or banned (458 and 509 are Xtream panels' own); another login may well work.
    public var isLoginRefusal: Bool {
        guard kind == .httpStatus, let status else { return false }
        return [401, 403, 405, 429, 456, 458, 503, 509].contains(status)
    }

    public var description: String { message }
}

/// What happened upstream, for the session to record and log. Delivered on the upstream loop thread.
public enum SourceEvent: Sendable, Equatable {
    /// Bytes are flowing from `url` (after the first connect or a reconnect).
    case connected(url: String)
    /// The upstream failed; the source will try again (`attempt` of the allowed number).
    case failed(url: String, failure: UpstreamFailure, attempt: Int)
    /// The bytes that follow start a new time base (an HLS discontinuity tag).
    case discontinuity
    /// A new connection is being made after a failure.
    case reconnecting(url: String, attempt: Int)
    /// The source has given up after too many failed attempts; the session should end.
    case gaveUp(reason: String)
}

/// Where a source delivers: the session, which aligns the bytes into its ring.
public protocol SourceSink: AnyObject, Sendable {
    /// Upstream bytes, in order, on the upstream loop thread. No allocation or blocking here. The
    /// memory is the sink's to rewrite in place (packet flags) until it returns.
    func sourceReceived(_ bytes: UnsafeMutableRawBufferPointer)
    /// A failure, reconnect or give-up; it may have dropped a partial packet.
    func sourceEvent(_ event: SourceEvent)
}

/// A producer of one channel's bytes: an HTTP TS upstream, an HLS playlist, or the test pattern.
public protocol ChannelSource: AnyObject, Sendable {
    /// `ts`, `hls` or `builtin`, as recorded in `shared_streams.format`.
    var format: String { get }
    /// The URL it is reading now.
    var currentURL: String { get }
    func start()
    /// Stops for good; no sink call follows once it returns... except one already running on the loop.
    func stop()
    /// The session saw no byte for `quietSeconds` (at least `stall_timeout`) while connected: drop
    /// the connection and reconnect, as for any failure (kind `stall`). libcurl's own low-speed
    /// check averages over its window and took half as long again; this is the prompt one.
    func upstreamStalled(quietSeconds: Double)
}

extension ChannelSource {
    public func upstreamStalled(quietSeconds: Double) {}
}

/// How hard a source tries before it gives up.
public struct ReconnectPolicy: Sendable {
    /// Consecutive failures (with no data in between) allowed before giving up.
    public var maxAttempts = 5
    public var initialBackoff: Duration = .milliseconds(500)
    public var maxBackoff: Duration = .seconds(10)
    public var connectTimeoutSeconds = 10
    /// No bytes for this long counts as a failure.
    public var stallTimeoutSeconds = 10

    public init() {}

    /// After a failed attempt: tells the sink, then gives up when `attempt` reached the limit, or
    /// runs `retry` on the loop after the back-off.
    func afterFailure(_ failure: UpstreamFailure, url: String, attempt: Int, sink: (any SourceSink)?, loop: UpstreamLoop,
                      retry: @escaping @Sendable () -> Void) {
        sink?.sourceEvent(.failed(url: url, failure: failure, attempt: attempt))
        guard attempt < maxAttempts else {
            sink?.sourceEvent(.gaveUp(reason: "\(attempt) attempts failed; last: \(failure.message)"))
            return
        }
        loop.schedule(after: delay(forAttempt: attempt), retry)
    }

    /// Exponential back-off with jitter: between half and all of `initial * 2^(attempt-1)`, capped.
    public func delay(forAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 20)
        let base = min(initialBackoff * (1 << exponent), maxBackoff)
        return base * Double.random(in: 0.5...1.0)
    }
}
