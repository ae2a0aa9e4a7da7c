import CCurl
import CShims
import SharecastCore
import SharecastSync

/// One HTTP GET driven by an `UpstreamLoop`: a live stream that never ends on its own, or a
/// playlist or segment that does. Its callbacks run on the loop's thread, one at a time.
public final class UpstreamTransfer: @unchecked Sendable {
    /// How a transfer ended.
    public enum Outcome: Sendable, Equatable {
        /// The server finished the body (for a live stream: an early end of file).
        case completed
        /// Connection failure, HTTP error status, stall, or a limit hit.
        case failed(UpstreamFailure)
        /// Cancelled by its owner or the loop's shutdown.
        case cancelled
    }

    public struct Options: Sendable {
        public var connectTimeoutSeconds = 10
        /// Fail when less than one byte arrives for this many seconds.
        public var stallTimeoutSeconds = 10
        /// Fail when the body grows past this (for documents; nil for live streams).
        public var maxBytes: Int?
        public var userAgent = "Sharecast/\(SharecastVersion.current)"
        public var headers: [(String, String)] = []

        public init() {}

        /// A channel's request: the policy's timeouts, its User-Agent (else Sharecast's) and its
        /// extra headers in a stable order.
        public init(policy: ReconnectPolicy, userAgent: String?, headers: [String: String]) {
            connectTimeoutSeconds = policy.connectTimeoutSeconds
            stallTimeoutSeconds = policy.stallTimeoutSeconds
            if let userAgent { self.userAgent = userAgent }
            self.headers = headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }

    public let url: String
    let easy: CurlEasy
    /// Returns nil to go on, or why the bytes are refused (the transfer then fails with it).
    private let onData: @Sendable (UnsafeMutableRawBufferPointer) -> UpstreamFailure?
    private let onFinish: @Sendable (Outcome) -> Void
    private let maxBytes: Int?
    /// Bytes received; only the loop thread touches it.
    public private(set) var bytesReceived: Int64 = 0
    private var finished = false
    /// Why `onData` refused the body; only the loop thread touches it.
    private var refusal: UpstreamFailure?
    /// The loop's census this transfer is counted in, once started.
    private let census = Locked<TransferCensus?>(nil)

    func count(in census: TransferCensus) {
        let first = self.census.withLock { current -> Bool in
            guard current == nil else { return false }
            current = census
            return true
        }
        if first { census.alive.add(1, ordering: .relaxed) }
    }

    deinit {
        census.withLock { $0 }?.alive.subtract(1, ordering: .relaxed)
    }

    /// Returns nil only when libcurl cannot make a handle.
    public init?(
        url: String, options: Options,
        onData: @escaping @Sendable (UnsafeMutableRawBufferPointer) -> UpstreamFailure?,
        onFinish: @escaping @Sendable (Outcome) -> Void
    ) {
        guard let easy = CurlEasy() else { return nil }
        self.url = url
        self.easy = easy
        self.onData = onData
        self.onFinish = onFinish
        maxBytes = options.maxBytes
        easy.set(CURLOPT_URL, url)
        easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        easy.set(CURLOPT_FOLLOWLOCATION, 1)
        easy.set(CURLOPT_MAXREDIRS, 5)
        easy.set(CURLOPT_FAILONERROR, 1)
        easy.set(CURLOPT_CONNECTTIMEOUT, options.connectTimeoutSeconds)
        easy.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        // A backstop only: the session notices a stall after exactly `stall_timeout` and drops the
        // connection itself (`ChannelSource.upstreamStalled`); curl's check averages over its
        // window and fired about half as late again. Documents and segments rely on it alone.
        easy.set(CURLOPT_LOW_SPEED_TIME, options.stallTimeoutSeconds)
        easy.set(CURLOPT_USERAGENT, options.userAgent)
        easy.set(CURLOPT_BUFFERSIZE, 64 * 1024)
        easy.setHeaders(options.headers)
        _ = shim_curl_setopt_write_function(easy.handle, Self.write)
        // The loop keeps the transfer alive while curl may call back with this pointer.
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = shim_curl_setopt_pointer(easy.handle, CURLOPT_WRITEDATA, context)
        _ = shim_curl_setopt_pointer(easy.handle, CURLOPT_PRIVATE, context)
    }

    static let write: shim_curl_data_callback = { pointer, size, count, context in
        guard let pointer, let context else { return 0 }
        let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        transfer.bytesReceived += Int64(length)
        if let limit = transfer.maxBytes, transfer.bytesReceived > limit { return 0 }
        if let refusal = transfer.onData(UnsafeMutableRawBufferPointer(start: pointer, count: length)) {
            transfer.refusal = refusal
            return 0
        }
        return length
    }

    /// Called by the loop once, when curl is done with the handle.
    func finish(_ code: CURLcode?) {
        guard !finished else { return }
        finished = true
        guard let code else { return onFinish(.cancelled) }
        switch code {
        case CURLE_OK:
            onFinish(.completed)
        case CURLE_HTTP_RETURNED_ERROR:
            onFinish(.failed(UpstreamFailure(.httpStatus, "HTTP status \(easy.responseCode)", status: easy.responseCode)))
        case CURLE_WRITE_ERROR where refusal != nil:
            onFinish(.failed(refusal ?? UpstreamFailure(.other, "refused")))
        case CURLE_WRITE_ERROR where maxBytes != nil && bytesReceived > (maxBytes ?? 0):
            onFinish(.failed(UpstreamFailure(.tooLarge, "larger than \(maxBytes ?? 0) bytes")))
        case CURLE_OPERATION_TIMEDOUT where bytesReceived > 0:
            onFinish(.failed(UpstreamFailure(.stall, "stalled: \(easy.message(for: code))")))
        case CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
             CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION:
            onFinish(.failed(UpstreamFailure(.connect, easy.message(for: code))))
        case CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_RECV_ERROR:
            onFinish(.failed(UpstreamFailure(.eof, easy.message(for: code))))
        default:
            onFinish(.failed(UpstreamFailure(.other, easy.message(for: code))))
        }
    }
}
