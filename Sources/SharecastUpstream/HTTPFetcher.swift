import CCurl
#if canImport(Glibc)
import Glibc
#endif
import CShims
import SharecastCore

/// Why a fetch failed, with the URL it was for.
public struct FetchError: Error, CustomStringConvertible, Equatable {
    public var url: String
    public var reason: String
    public var description: String { "\(url): \(reason)" }

    public init(url: String, reason: String) {
        self.url = url
        self.reason = reason
    }
}

/// One-shot HTTP(S) GETs of bounded size through libcurl, for playlists and other small documents.
///
/// It blocks the calling thread, so it belongs to start-up, the CLI and background jobs, never to
/// the server's request threads. Only http and https are allowed, also across redirects, so a
/// playlist URL cannot be turned into a read of `file:///etc/passwd`.
public struct HTTPFetcher: Sendable {
    public var timeoutSeconds = 60
    public var connectTimeoutSeconds = 10
    public var maxBytes = 64 * 1024 * 1024
    public var userAgent = "Sharecast/\(SharecastVersion.current)"

    public init() {}

    public func fetch(_ url: String, headers: [(String, String)] = [], userAgent: String? = nil) throws(FetchError) -> [UInt8] {
        switch try fetch(url, headers: headers, userAgent: userAgent, ifChangedSince: nil) {
        case let .changed(body, _): return body
        case .notModified: throw FetchError(url: url, reason: "HTTP status 304 to an unconditional request")
        }
    }

    /// A GET that asks the server, with what it said last time (`If-None-Match`,
    /// `If-Modified-Since`), whether the document changed. Providers that answer 304 spare both
    /// sides the download and Sharecast the parse and sync. A 304 counts only when validators
    /// were sent.
    public func fetch(_ url: String, headers: [(String, String)] = [], userAgent: String? = nil,
                      ifChangedSince validators: HTTPValidators?) throws(FetchError) -> ConditionalFetch {
        guard let curl = CurlEasy() else { throw FetchError(url: url, reason: "libcurl could not be initialised") }
        let sink = FetchSink(limit: maxBytes)
        prepareGET(curl, url, userAgent: userAgent)
        curl.set(CURLOPT_ACCEPT_ENCODING, "")
        curl.setHeaders(headers + (validators?.requestHeaders ?? []))
        _ = shim_curl_setopt_write_function(curl.handle, FetchSink.write)
        // `sink` outlives the transfer: it is released only after `curl_easy_perform` returns.
        _ = shim_curl_setopt_pointer(curl.handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        let code = withExtendedLifetime(sink) { curl_easy_perform(curl.handle) }
        if sink.exceeded {
            throw FetchError(url: url, reason: "response larger than \(maxBytes) bytes")
        }
        guard code == CURLE_OK else {
            throw FetchError(url: url, reason: curl.message(for: code))
        }
        let status = curl.responseCode
        if status == 304, let validators, !validators.isEmpty {
            return .notModified
        }
        guard (200..<300).contains(status) else {
            throw FetchError(url: url, reason: "HTTP status \(status)")
        }
        let answered = HTTPValidators(etag: curl.responseHeader("ETag"), lastModified: curl.responseHeader("Last-Modified"))
        return .changed(sink.data, answered)
    }
}

extension HTTPFetcher {
    /// A conditional GET written to the file at `path` (replaced), for documents too large to
    /// hold in memory (guides of a gigabyte). `maxBytes` still bounds it. On `.notModified` and on
    /// errors the file's content is unspecified.
    public func download(_ url: String, to path: String, headers: [(String, String)] = [], userAgent: String? = nil,
                         ifChangedSince validators: HTTPValidators?) throws(FetchError) -> DownloadResult {
        guard let curl = CurlEasy() else { throw FetchError(url: url, reason: "libcurl could not be initialised") }
        guard let sink = FileSink(path: path, limit: maxBytes) else { throw FetchError(url: url, reason: "cannot write \(path)") }
        prepareGET(curl, url, userAgent: userAgent)
        curl.setHeaders(headers + (validators?.requestHeaders ?? []))
        _ = shim_curl_setopt_write_function(curl.handle, FileSink.write)
        _ = shim_curl_setopt_pointer(curl.handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        let code = withExtendedLifetime(sink) { curl_easy_perform(curl.handle) }
        sink.close()
        if sink.exceeded { throw FetchError(url: url, reason: "response larger than \(maxBytes) bytes") }
        if sink.failed { throw FetchError(url: url, reason: "cannot write \(path)") }
        guard code == CURLE_OK else { throw FetchError(url: url, reason: curl.message(for: code)) }
        let status = curl.responseCode
        if status == 304, let validators, !validators.isEmpty { return .notModified }
        guard (200..<300).contains(status) else { throw FetchError(url: url, reason: "HTTP status \(status)") }
        return .changed(bytes: sink.written, HTTPValidators(etag: curl.responseHeader("ETag"), lastModified: curl.responseHeader("Last-Modified")))
    }
}

/// The answer to a conditional download.
public enum DownloadResult: Sendable, Equatable {
    case notModified
    /// The file holds the document (`bytes` long).
    case changed(bytes: Int, HTTPValidators)
}

/// Writes a response body to a file, up to a limit. The one owner of its `FILE *`.
final class FileSink {
    private var file: UnsafeMutablePointer<FILE>?
    let limit: Int
    var written = 0
    var exceeded = false
    var failed = false

    init?(path: String, limit: Int) {
        guard let file = fopen(path, "wb") else { return nil }
        self.file = file
        self.limit = limit
    }

    func close() {
        if let file, fclose(file) != 0 { failed = true }
        file = nil
    }

    deinit {
        close()
    }

    static let write: shim_curl_data_callback = { pointer, size, count, context in
        guard let pointer, let context else { return 0 }
        let sink = Unmanaged<FileSink>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        guard sink.written + length <= sink.limit else {
            sink.exceeded = true
            return 0
        }
        guard let file = sink.file, fwrite(pointer, 1, length, file) == length else {
            sink.failed = true
            return 0
        }
        sink.written += length
        return length
    }
}

extension HTTPFetcher {
    /// The options every GET shares: http(s) only, also across at most 5 redirects, the
    /// timeouts and the user agent.
    func prepareGET(_ curl: CurlEasy, _ url: String, userAgent: String?) {
        curl.set(CURLOPT_URL, url)
        curl.set(CURLOPT_PROTOCOLS_STR, "http,https")
        curl.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        curl.set(CURLOPT_FOLLOWLOCATION, 1)
        curl.set(CURLOPT_MAXREDIRS, 5)
        curl.set(CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
        curl.set(CURLOPT_TIMEOUT, timeoutSeconds)
        curl.set(CURLOPT_USERAGENT, userAgent ?? self.userAgent)
    }
}

/// What a server said identifies a document's version (`ETag`, `Last-Modified`), sent back to
/// ask whether it changed. Values are opaque: compared by the server, never parsed here.
public struct HTTPValidators: Sendable, Equatable {
    public var etag: String?
    public var lastModified: String?

    public init(etag: String? = nil, lastModified: String? = nil) {
        self.etag = etag
        self.lastModified = lastModified
    }

    public var isEmpty: Bool { etag == nil && lastModified == nil }

    var requestHeaders: [(String, String)] {
        (etag.map { [("If-None-Match", $0)] } ?? []) + (lastModified.map { [("If-Modified-Since", $0)] } ?? [])
    }
}

/// The answer to a conditional GET.
public enum ConditionalFetch: Sendable, Equatable {
    /// 304: the version named by the validators is still current.
    case notModified
    /// The document, with the validators that name this version (empty when the server sent none).
    case changed([UInt8], HTTPValidators)
}

extension HTTPFetcher {
    /// A response of any status.
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    /// One request with any method; unlike `fetch`, a non-2xx status is a response, not an error
    /// (the CLI shows the server's JSON error). Transport failures throw.
    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws(FetchError) -> Response {
        guard let curl = CurlEasy() else { throw FetchError(url: url, reason: "libcurl could not be initialised") }
        let sink = FetchSink(limit: maxBytes)
        curl.set(CURLOPT_URL, url)
        curl.set(CURLOPT_PROTOCOLS_STR, "http,https")
        curl.set(CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
        curl.set(CURLOPT_TIMEOUT, timeoutSeconds)
        curl.set(CURLOPT_USERAGENT, userAgent)
        curl.set(CURLOPT_CUSTOMREQUEST, method)
        var allHeaders = headers
        if let body {
            allHeaders.append(("Content-Type", "application/json"))
            curl.set(CURLOPT_POSTFIELDSIZE, body.count)
            _ = body.withUnsafeBytes { raw in shim_curl_setopt_pointer(curl.handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress)) }
        } else if method == "POST" {
            curl.set(CURLOPT_POSTFIELDSIZE, 0)
            curl.set(CURLOPT_POST, 1)
        }
        curl.setHeaders(allHeaders)
        _ = shim_curl_setopt_write_function(curl.handle, FetchSink.write)
        _ = shim_curl_setopt_pointer(curl.handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        let code = withExtendedLifetime(sink) { curl_easy_perform(curl.handle) }
        guard code == CURLE_OK else { throw FetchError(url: url, reason: curl.message(for: code)) }
        return Response(status: curl.responseCode, body: sink.data)
    }
}

/// Collects a response body up to a limit.
final class FetchSink {
    var data: [UInt8] = []
    let limit: Int
    var exceeded = false

    init(limit: Int) {
        self.limit = limit
    }

    static let write: shim_curl_data_callback = { pointer, size, count, context in
        guard let pointer, let context else { return 0 }
        let sink = Unmanaged<FetchSink>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        guard sink.data.count + length <= sink.limit else {
            sink.exceeded = true
            return 0
        }
        pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            sink.data.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
        return length
    }
}
