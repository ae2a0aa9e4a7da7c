import SharecastTS
import Synchronization
import SharecastSync

/// An MPEG-TS stream over HTTP(S), kept alive across failures: on a connect error, an HTTP error
/// status, a stall or an early end of file it moves to the channel's next URL (primary, then
/// backups, round and round) and reconnects after an exponential, jittered back-off. It gives up
/// after `policy.maxAttempts` failures in a row with no data in between. Only MPEG-TS counts as data:
/// a connection's first bytes must hold aligned packets (`TSSniffer`), so an HTML error page
/// answered with 200 is a failure like any other, not a connection that resets the attempts.
public final class TSUpstreamSource: ChannelSource {
    struct State {
        var urlIndex = 0
        var attempts = 0
        var receivedSinceConnect = false
        /// A connection has failed before: the next one starts a new time base.
        var reconnected = false
        var transfer: UpstreamTransfer?
        var stopped = false
        /// The current connection's first bytes, until they prove to be TS.
        var sniffer = TSSniffer()
    }

    public let format = "ts"
    let urls: UpstreamURLs
    let options: UpstreamTransfer.Options
    let policy: ReconnectPolicy
    let loop: UpstreamLoop
    weak let sink: (any SourceSink)?
    private let state = Locked(State())

    public init(urls: UpstreamURLs, userAgent: String?, headers: [String: String], policy: ReconnectPolicy, loop: UpstreamLoop, sink: any SourceSink) {
        self.urls = urls
        var options = UpstreamTransfer.Options(policy: policy, userAgent: userAgent, headers: headers)
        // libcurl's low-speed check is the backstop; the session's stall check comes first.
        options.stallTimeoutSeconds = policy.stallTimeoutSeconds * 2
        self.options = options
        self.policy = policy
        self.loop = loop
        self.sink = sink
    }

    public var currentURL: String { urls.url(at: state.withLock { $0.urlIndex }) }

    public func start() {
        connect()
    }

    public func stop() {
        let transfer = state.withLock { state -> UpstreamTransfer? in
            state.stopped = true
            defer { state.transfer = nil }
            return state.transfer
        }
        if let transfer { loop.cancel(transfer) }
    }

    public func upstreamStalled(quietSeconds: Double) {
        loop.schedule(after: .zero) { [weak self] in
            guard let self else { return }
            let current = state.withLock { state -> UpstreamTransfer? in
                guard !state.stopped, state.receivedSinceConnect else { return nil }
                return state.transfer
            }
            guard let current else { return }
            // Its finish callback then sees `.cancelled` and does nothing; this is the failure.
            loop.cancel(current)
            finished(.failed(UpstreamFailure(.stall, "no data for \(Int(quietSeconds)) s")), url: current.url)
        }
    }

    private func connect() {
        guard !state.withLock({ $0.stopped }) else { return }
        let list = urls.current()
        let url = list[state.withLock { $0.urlIndex } % list.count]
        let transfer = UpstreamTransfer(url: url, options: options, onData: { [weak self] bytes in
            self?.received(bytes, from: url)
        }, onFinish: { [weak self] outcome in
            self?.finished(outcome, url: url)
        })
        guard let transfer else {
            finished(.failed(UpstreamFailure(.other, "libcurl could not make a handle")), url: url)
            return
        }
        let started = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.transfer = transfer
            state.receivedSinceConnect = false
            state.sniffer = TSSniffer()
            return true
        }
        if started { loop.start(transfer) }
    }

    private func received(_ bytes: UnsafeMutableRawBufferPointer, from url: String) -> UpstreamFailure? {
        // Until the connection has proved to be TS, its bytes go through the sniffer.
        let opening = state.withLock { state -> (verdict: TSSniffer.Verdict, reconnected: Bool)? in
            guard !state.receivedSinceConnect else { return nil }
            let verdict = state.sniffer.inspect(UnsafeRawBufferPointer(bytes))
            if case .transportStream = verdict {
                state.receivedSinceConnect = true
                state.attempts = 0
            }
            return (verdict, state.reconnected)
        }
        return OpeningBytes.deliver(bytes, verdict: opening?.verdict, to: sink) {
            // A new connection's stream restarts its clock and counters for viewers who stayed.
            if opening?.reconnected == true { sink?.sourceEvent(.discontinuity) }
            sink?.sourceEvent(.connected(url: url))
        }
    }

    private func finished(_ outcome: UpstreamTransfer.Outcome, url: String) {
        let failure: UpstreamFailure
        switch outcome {
        case .cancelled: return
        case .completed:
            let undecided = state.withLock { $0.receivedSinceConnect || $0.sniffer.heldBytes == 0 ? nil : $0.sniffer.undecidedReason }
            failure = undecided.map { UpstreamFailure(.badData, $0) } ?? UpstreamFailure(.eof, "upstream ended the stream")
        case let .failed(why): failure = why
        }
        let attempt: Int? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.transfer = nil
            state.reconnected = true
            state.attempts += 1
            state.urlIndex = (state.urlIndex + 1) % urls.count
            return state.attempts
        }
        guard let attempt else { return }
        policy.afterFailure(failure, url: url, attempt: attempt, sink: sink, loop: loop) { [weak self] in
            guard let self else { return }
            self.sink?.sourceEvent(.reconnecting(url: self.currentURL, attempt: attempt))
            self.connect()
        }
    }
}
