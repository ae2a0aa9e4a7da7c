import Foundation
import SharecastTS
import Synchronization
import SharecastSync

/// A live HLS channel turned into one continuous TS stream: the playlist (a master playlist picks
/// its highest-bandwidth variant) is reloaded every target duration, each new segment is fetched
/// once, in order, and its bytes go to the session as they arrive.
///
/// A viewer joining a fresh session starts near the live edge (the last `liveEdgeSegments`
/// segments). A playlist that slid past segments not fetched yet (a slow or paused upstream) makes
/// the source jump to what is there and count an error. Playlist failures count toward the
/// reconnect policy and rotate through the channel's URLs; a segment that fails is retried once,
/// then skipped, and a skipped segment counts as a failed attempt too, so a playlist whose segments
/// never play (HTML pages, 403s) ends in an error instead of polling forever. Only bytes that prove
/// to be TS (`TSSniffer`) reset the attempts. A variant that is itself a master playlist (a loop)
/// is a failed attempt.
public final class HLSSource: ChannelSource {
    struct State {
        var urlIndex = 0
        /// The media playlist, once a master playlist (if any) has been resolved.
        var mediaURL: String?
        var lastSequence: Int?
        var queue: [HLSPlaylist.Segment] = []
        var downloading = false
        var attempts = 0
        var segmentRetries = 0
        var connected = false
        var stopped = false
        var transfers: [ObjectIdentifier: UpstreamTransfer] = [:]
        var discontinuities = 0
        var missedSegments = 0
        /// The current segment's first bytes, until they prove to be TS.
        var sniffer = TSSniffer()
        var segmentProved = false
        /// The media playlist's target duration: segments come this far apart.
        var targetDuration = 6.0
    }

    public let format = "hls"
    /// Segments a fresh session starts with, counted back from the live edge.
    public static let liveEdgeSegments = 2
    let urls: UpstreamURLs
    let options: UpstreamTransfer.Options
    let policy: ReconnectPolicy
    let maxBandwidth: Int?
    let loop: UpstreamLoop
    weak let sink: (any SourceSink)?
    private let state = Locked(State())

    public init(urls: UpstreamURLs, userAgent: String?, headers: [String: String], policy: ReconnectPolicy, maxBandwidth: Int? = nil,
                loop: UpstreamLoop, sink: any SourceSink) {
        self.urls = urls
        self.maxBandwidth = maxBandwidth
        options = UpstreamTransfer.Options(policy: policy, userAgent: userAgent, headers: headers)
        self.policy = policy
        self.loop = loop
        self.sink = sink
    }

    /// Whether a URL names an HLS playlist (by its path's extension).
    public static func handles(_ url: String) -> Bool {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        return path.lowercased().hasSuffix(".m3u8")
    }

    public var currentURL: String {
        let (media, index) = state.withLock { ($0.mediaURL, $0.urlIndex) }
        return media ?? urls.url(at: index)
    }

    /// Discontinuity tags passed and segments missed so far (for tests and the monitor).
    public var counts: (discontinuities: Int, missedSegments: Int) {
        state.withLock { ($0.discontinuities, $0.missedSegments) }
    }

    /// Transfers running now (a playlist and a segment at most), for tests of what a long session keeps.
    public var runningTransfers: Int { state.withLock { $0.transfers.count } }

    public func start() {
        loop.schedule(after: .zero) { [weak self] in self?.reloadPlaylist() }
    }

    public func stop() {
        let transfers = state.withLock { state -> [UpstreamTransfer] in
            state.stopped = true
            defer { state.transfers.removeAll() }
            return Array(state.transfers.values)
        }
        for transfer in transfers { loop.cancel(transfer) }
    }

    /// HLS is quiet between segments by nature: a stall is a quiet spell longer than three target
    /// durations as well as `stall_timeout`. The transfers under way go, and the playlist is read
    /// again after the back-off (from where the source was, so no segment is repeated).
    public func upstreamStalled(quietSeconds: Double) {
        loop.schedule(after: .zero) { [weak self] in
            guard let self else { return }
            let transfers = state.withLock { state -> [UpstreamTransfer]? in
                guard !state.stopped, state.connected, quietSeconds >= 3 * state.targetDuration else { return nil }
                defer {
                    state.transfers.removeAll()
                    state.queue.removeAll()
                    state.downloading = false
                    state.segmentRetries = 0
                }
                return Array(state.transfers.values)
            }
            guard let transfers else { return }
            for transfer in transfers { loop.cancel(transfer) }
            playlistFailed(UpstreamFailure(.stall, "no data for \(Int(quietSeconds)) s"), url: currentURL)
        }
    }

    // MARK: Playlist

    private func reloadPlaylist() {
        let (stopped, media, index) = state.withLock { ($0.stopped, $0.mediaURL, $0.urlIndex) }
        guard !stopped else { return }
        // A new start (first, or after a failure) takes the list as it is now: refreshed URLs and
        // the session's current login.
        let url = media ?? { let list = urls.current(); return list[index % list.count] }()
        fetchDocument(url) { [weak self] result in
            guard let self else { return }
            switch result {
            case let .success(text): self.playlistArrived(text, from: url)
            case let .failure(error): self.playlistFailed(error.failure, url: url)
            }
        }
    }

    private func playlistArrived(_ text: String, from url: String) {
        let playlist: HLSPlaylist
        do {
            playlist = try HLSPlaylist.parse(text, url: url)
        } catch {
            playlistFailed(UpstreamFailure(.badPlaylist, error.description), url: url)
            return
        }
        switch playlist {
        case let .master(variants):
            // A master playlist names media playlists; one reached through a variant is a loop
            // (a playlist naming itself, or masters naming each other).
            let nested = state.withLock { $0.mediaURL != nil }
            guard !nested, let best = Self.choose(variants, maxBandwidth: maxBandwidth) else {
                playlistFailed(UpstreamFailure(.badPlaylist, "a variant of the master playlist is a master playlist again"), url: url)
                return
            }
            state.withLock { $0.mediaURL = best.url }
            reloadPlaylist()
        case let .media(media):
            let (added, startDownload) = state.withLock { state -> (Int, Bool) in
                state.targetDuration = media.targetDuration
                var fresh = media.segments.filter { segment in state.lastSequence.map { segment.sequence > $0 } ?? true }
                let queuedLast = state.queue.last?.sequence ?? state.lastSequence
                if let queuedLast { fresh = fresh.filter { $0.sequence > queuedLast } }
                if state.lastSequence == nil, state.queue.isEmpty {
                    fresh = Array(fresh.suffix(Self.liveEdgeSegments))
                } else if let first = fresh.first, let queuedLast, first.sequence > queuedLast &+ 1 {
                    // Sequences are at most HLSPlaylist.maxSequence plus a playlist's length, so
                    // neither the +1 nor the difference can overflow; the running total saturates.
                    let (sum, overflow) = state.missedSegments.addingReportingOverflow(first.sequence - (queuedLast + 1))
                    state.missedSegments = overflow ? .max : sum
                }
                state.queue += fresh
                let start = !state.downloading && !state.queue.isEmpty
                if start { state.downloading = true }
                return (fresh.count, start)
            }
            if startDownload { fetchNextSegment() }
            if media.ended, added == 0, state.withLock({ $0.queue.isEmpty && !$0.downloading }) {
                playlistFailed(UpstreamFailure(.eof, "playlist ended (#EXT-X-ENDLIST)"), url: url)
                return
            }
            // RFC 8216 6.3.4: reload after the target duration, or half of it when nothing changed.
            // The target duration is finite and at most a day (HLSPlaylist.maxDuration), so the
            // conversion below cannot trap; a reload at least every 30 s keeps a live edge.
            let wait = min(max(added > 0 ? media.targetDuration : media.targetDuration / 2, 0.2), 30)
            loop.schedule(after: .milliseconds(Int(wait * 1000))) { [weak self] in self?.reloadPlaylist() }
        }
    }

    private func playlistFailed(_ failure: UpstreamFailure, url: String) {
        let attempt: Int? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.attempts += 1
            state.connected = false
            if state.attempts > 1 || urls.count > 1 {
                state.urlIndex = (state.urlIndex + 1) % urls.count
                state.mediaURL = nil
            }
            return state.attempts
        }
        guard let attempt else { return }
        policy.afterFailure(failure, url: url, attempt: attempt, sink: sink, loop: loop) { [weak self] in
            guard let self else { return }
            self.sink?.sourceEvent(.reconnecting(url: self.currentURL, attempt: attempt))
            self.reloadPlaylist()
        }
    }

    /// The highest-bandwidth variant, or with a cap the highest at or below it (the lowest when
    /// none fits).
    public static func choose(_ variants: [HLSPlaylist.Variant], maxBandwidth: Int?) -> HLSPlaylist.Variant? {
        let byBandwidth = variants.sorted { $0.bandwidth < $1.bandwidth }
        guard let maxBandwidth else { return byBandwidth.last }
        return byBandwidth.last { $0.bandwidth <= maxBandwidth } ?? byBandwidth.first
    }

    // MARK: Segments

    private func fetchNextSegment() {
        let segment: HLSPlaylist.Segment? = state.withLock { state in
            guard !state.stopped, !state.queue.isEmpty else {
                state.downloading = false
                return nil
            }
            let segment = state.queue[0]
            if segment.discontinuity { state.discontinuities += 1 }
            state.sniffer = TSSniffer()
            state.segmentProved = false
            return segment
        }
        guard let segment else { return }
        if segment.discontinuity { sink?.sourceEvent(.discontinuity) }
        let holder = TransferHolder()
        let transfer = UpstreamTransfer(url: segment.url, options: options, onData: { [weak self] bytes in
            self?.segmentBytes(bytes, url: segment.url)
        }, onFinish: { [weak self] outcome in
            // Tracked only while it runs: a finished segment's transfer (and its curl handle) goes now.
            if let transfer = holder.transfer { self?.untrack(transfer) }
            self?.segmentFinished(segment, outcome: outcome)
        })
        guard let transfer else {
            segmentFinished(segment, outcome: .failed(UpstreamFailure(.other, "libcurl could not make a handle")))
            return
        }
        holder.transfer = transfer
        track(transfer)
        loop.start(transfer)
    }

    private func segmentBytes(_ bytes: UnsafeMutableRawBufferPointer, url: String) -> UpstreamFailure? {
        let opening = state.withLock { state -> (verdict: TSSniffer.Verdict, first: Bool)? in
            guard !state.segmentProved else { return nil }
            let verdict = state.sniffer.inspect(UnsafeRawBufferPointer(bytes))
            guard case .transportStream = verdict else { return (verdict, false) }
            state.segmentProved = true
            state.attempts = 0
            defer { state.connected = true }
            return (verdict, !state.connected)
        }
        return OpeningBytes.deliver(bytes, verdict: opening?.verdict, to: sink) {
            if opening?.first == true { sink?.sourceEvent(.connected(url: currentURL)) }
        }
    }

    private func segmentFinished(_ segment: HLSPlaylist.Segment, outcome: UpstreamTransfer.Outcome) {
        if outcome == .cancelled { return }
        var failure: UpstreamFailure? = if case let .failed(reason) = outcome { reason } else { nil }
        enum Next { case retry, skip(attempt: Int), next }
        let next = state.withLock { state -> Next? in
            guard !state.stopped else { return nil }
            // A segment that ended before proving to be TS (a short HTML page) failed too.
            if failure == nil, !state.segmentProved {
                failure = UpstreamFailure(.badData, state.sniffer.heldBytes == 0 ? "empty segment" : state.sniffer.undecidedReason)
            }
            if failure != nil, state.segmentRetries == 0 {
                state.segmentRetries = 1
                return .retry
            }
            state.segmentRetries = 0
            state.queue.removeFirst()
            state.lastSequence = segment.sequence
            guard failure != nil else { return .next }
            state.missedSegments &+= 1
            state.attempts += 1
            state.connected = false
            return .skip(attempt: state.attempts)
        }
        guard let next else { return }
        let described = failure.map { UpstreamFailure($0.kind, "segment \(segment.sequence): \($0.message)") }
        switch next {
        case .retry:
            if let described { sink?.sourceEvent(.failed(url: segment.url, failure: described, attempt: 1)) }
            fetchNextSegment()
        case .next:
            fetchNextSegment()
        case let .skip(attempt):
            // The skipped segment is a failed attempt: past the limit the source gives up, before
            // it the next segment waits out the back-off.
            guard let described else { return fetchNextSegment() }
            policy.afterFailure(described, url: segment.url, attempt: attempt, sink: sink, loop: loop) { [weak self] in
                self?.fetchNextSegment()
            }
        }
    }

    // MARK: Documents

    private func track(_ transfer: UpstreamTransfer) {
        state.withLock { $0.transfers[ObjectIdentifier(transfer)] = transfer }
    }

    private func untrack(_ transfer: UpstreamTransfer) {
        state.withLock { _ = $0.transfers.removeValue(forKey: ObjectIdentifier(transfer)) }
    }

    /// Fetches a small text document (a playlist) on the loop.
    private func fetchDocument(_ url: String, _ done: @escaping @Sendable (Result<String, DocumentError>) -> Void) {
        var documentOptions = options
        documentOptions.maxBytes = 4 * 1024 * 1024
        let body = DocumentBody()
        let holder = TransferHolder()
        let transfer = UpstreamTransfer(url: url, options: documentOptions, onData: { bytes in
            body.append(bytes)
            return nil
        }, onFinish: { [weak self] outcome in
            if let transfer = holder.transfer { self?.untrack(transfer) }
            switch outcome {
            case .completed: done(.success(body.text))
            case let .failed(failure): done(.failure(DocumentError(failure: failure)))
            case .cancelled: break
            }
        })
        guard let transfer else {
            done(.failure(DocumentError(failure: UpstreamFailure(.other, "libcurl could not make a handle"))))
            return
        }
        holder.transfer = transfer
        track(transfer)
        loop.start(transfer)
    }

    struct DocumentError: Error {
        let failure: UpstreamFailure
    }
}

/// A playlist's bytes as they arrive (on the loop thread only).
final class DocumentBody: @unchecked Sendable {
    private var bytes: [UInt8] = []
    func append(_ chunk: UnsafeMutableRawBufferPointer) { bytes += chunk }
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Lets a transfer's finish callback name the transfer. Weak: the transfer holds the callback,
/// which holds this, so a strong reference was a cycle that kept every playlist and segment
/// transfer (with its curl handle, ~20 KB) for good. The loop holds the transfer while it runs.
/// `@unchecked Sendable`: set once before the transfer starts, read on the loop thread only.
final class TransferHolder: @unchecked Sendable {
    weak var transfer: UpstreamTransfer?
}
