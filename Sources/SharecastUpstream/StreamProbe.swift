import CCurl
import CShims
import Foundation
import SharecastCore
import SharecastTS
#if canImport(Glibc)
import Glibc
#endif

/// What probing an upstream URL found.
public struct ProbeResult: Sendable, Equatable, Encodable {
    public var url: String
    public var reachable = false
    public var httpStatus: Int?
    public var contentType: String?
    /// `ts`, `hls` or `unknown`.
    public var format = "unknown"
    public var timeToFirstByteMs: Double?
    public var bytes: Int64 = 0
    public var seconds = 0.0
    /// Bytes over time, in kbit/s.
    public var measuredKbps: Double?
    /// From the stream's PCRs (TS only), in kbit/s.
    public var pcrKbps: Double?
    public var tsPackets: Int64 = 0
    public var continuityErrors: Int64 = 0
    public var syncLosses = 0
    /// HLS: variants listed by a master playlist, or segments of a media playlist.
    public var hlsEntries: Int?
    public var error: String?

    public init(url: String) {
        self.url = url
    }
}

/// Why a URL may not be probed.
public enum ProbeRefusal: Error, Equatable, CustomStringConvertible {
    case notHTTP
    case badPort(Int)
    case unresolvable(host: String)
    case privateAddress(host: String, address: String)

    public var description: String {
        switch self {
        case .notHTTP: "only http and https URLs can be probed"
        case let .badPort(port): "port \(port) is out of range"
        case let .unresolvable(host): "cannot resolve \(host)"
        case let .privateAddress(host, address):
            "\(host) resolves to \(address), a loopback or private address; set security.probe_private_networks to allow it"
        }
    }
}

/// Reads an upstream for a few seconds without starting a session: reachability, status, format,
/// time to first byte, rate, and TS errors seen.
///
/// It blocks its thread for up to `duration` plus the connect timeout, so callers run it off the
/// server's threads. Against SSRF, the host is resolved first and refused when any address is
/// loopback, private or link-local (unless `allowPrivate`), the connection is pinned to the
/// addresses checked (`CURLOPT_RESOLVE`, so a second DNS answer cannot differ), and redirects are
/// reported rather than followed.
public struct StreamProbe: Sendable {
    public var duration: Duration = .seconds(3)
    public var connectTimeoutSeconds = 5
    public var allowPrivate = false
    public var maxBytes = 64 * 1024 * 1024

    public init(allowPrivate: Bool = false) {
        self.allowPrivate = allowPrivate
    }

    /// The parts of an http(s) URL that matter here, or nil when it is not one:
    /// `scheme://host[:port][/?#rest]`, host a name of letters, digits, `.`, `_`, `~`, `-`, or an
    /// IPv6 literal in brackets.
    public static func split(_ url: String) -> (scheme: String, host: String, port: Int)? {
        guard let separator = url.range(of: "://") else { return nil }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = url[separator.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var host = Substring(authority), portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._~-".contains($0)) }) else { return nil }
        }
        if rest.dropFirst(authority.count).contains(where: \.isWhitespace) { return nil }
        var port = scheme == "https" ? 443 : 80
        if let portText {
            guard (1...5).contains(portText.count), portText.allSatisfy(\.isASCII), let value = Int(portText) else { return nil }
            port = value
        }
        return (scheme, String(host), port)
    }

    /// Checks the URL and resolves its host; the `CURLOPT_RESOLVE` entry to pin it, or nil for an
    /// address literal, which no DNS answer can change (and which libcurl does not look up in its
    /// resolve list: an IPv6 literal's entry made every such probe fail).
    public func admit(_ url: String) -> Result<String?, ProbeRefusal> {
        guard let (_, host, port) = Self.split(url) else { return .failure(.notHTTP) }
        guard (1...65535).contains(port) else { return .failure(.badPort(port)) }
        let addresses = Self.resolve(host)
        guard !addresses.isEmpty else { return .failure(.unresolvable(host: host)) }
        if !allowPrivate, let bad = addresses.first(where: \.isPrivateOrLocal) {
            return .failure(.privateAddress(host: host, address: bad.description))
        }
        if IPAddress(host) != nil { return .success(nil) }
        let list = addresses.map { $0.isIPv4 ? $0.description : "[\($0.description)]" }.joined(separator: ",")
        let pinnedHost = host.contains(":") ? "[\(host)]" : host
        return .success("\(pinnedHost):\(port):\(list)")
    }

    public func probe(_ url: String) -> ProbeResult {
        var result = ProbeResult(url: url)
        let pin: String?
        switch admit(url) {
        case let .failure(refusal):
            result.error = refusal.description
            return result
        case let .success(entry):
            pin = entry
        }
        guard let curl = CurlEasy() else {
            result.error = "libcurl could not be initialised"
            return result
        }
        let sink = ProbeSink(deadline: ContinuousClock.now + duration, limit: maxBytes)
        let resolve = pin.flatMap { curl_slist_append(nil, $0) }
        defer { curl_slist_free_all(resolve) }
        curl.set(CURLOPT_URL, url)
        curl.set(CURLOPT_PROTOCOLS_STR, "http,https")
        curl.set(CURLOPT_FOLLOWLOCATION, 0)
        curl.set(CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
        let total = Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000) + connectTimeoutSeconds * 1000
        curl.set(CURLOPT_TIMEOUT_MS, total)
        curl.set(CURLOPT_USERAGENT, "Sharecast/\(SharecastVersion.current) probe")
        if let resolve { _ = shim_curl_setopt_slist(curl.handle, CURLOPT_RESOLVE, resolve) }
        _ = shim_curl_setopt_write_function(curl.handle, ProbeSink.write)
        _ = shim_curl_setopt_pointer(curl.handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        let started = ContinuousClock.now
        let code = withExtendedLifetime(sink) { curl_easy_perform(curl.handle) }
        let status = curl.responseCode
        if status > 0 {
            result.reachable = true
            result.httpStatus = status
        }
        var type: UnsafePointer<CChar>?
        if shim_curl_getinfo_string(curl.handle, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK, let type {
            result.contentType = String(cString: type)
        }
        if let first = sink.firstByteAt {
            result.timeToFirstByteMs = ((first - started).seconds * 10_000).rounded() / 10
        }
        let elapsed = (sink.lastByteAt ?? ContinuousClock.now) - (sink.firstByteAt ?? started)
        result.seconds = (elapsed.seconds * 1000).rounded() / 1000
        result.bytes = sink.bytes
        if result.seconds > 0, sink.bytes > 0 {
            result.measuredKbps = (Double(sink.bytes) * 8 / 1000 / result.seconds * 10).rounded() / 10
        }
        let stoppedOnPurpose = code == CURLE_WRITE_ERROR && sink.stopped
        if code != CURLE_OK, !stoppedOnPurpose {
            result.error = curl.message(for: code)
        } else if !(200..<300).contains(status) {
            result.error = "HTTP status \(status)"
        }
        classify(sink, into: &result)
        return result
    }

    func classify(_ sink: ProbeSink, into result: inout ProbeResult) {
        let type = result.contentType?.lowercased() ?? ""
        if type.contains("mpegurl") || sink.head.starts(with: Array("#EXTM3U".utf8)) {
            result.format = "hls"
            let text = String(decoding: sink.head, as: UTF8.self)
            let variants = text.components(separatedBy: "#EXT-X-STREAM-INF").count - 1
            result.hlsEntries = variants > 0 ? variants : text.components(separatedBy: "#EXTINF").count - 1
        } else if sink.aligner.packets > 0 {
            result.format = "ts"
            result.tsPackets = sink.aligner.packets
            result.continuityErrors = sink.aligner.continuityErrors
            result.syncLosses = sink.aligner.syncLosses
            if sink.aligner.pcrBitsPerSecond > 0 { result.pcrKbps = (Double(sink.aligner.pcrBitsPerSecond) / 100).rounded() / 10 }
        }
    }

    /// The host's addresses (an address literal is its own).
    static func resolve(_ host: String) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var node = list
        while let entry = node {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if let address = entry.pointee.ai_addr {
                if entry.pointee.ai_family == AF_INET {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { var a = $0.pointee.sin_addr; _ = inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count)) }
                } else if entry.pointee.ai_family == AF_INET6 {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { var a = $0.pointee.sin6_addr; _ = inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count)) }
                }
            }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let parsed = IPAddress(text), !addresses.contains(parsed) { addresses.append(parsed) }
            node = entry.pointee.ai_next
        }
        return addresses
    }
}

/// Takes the probe's bytes until its deadline: counts them, keeps the first few KiB for format
/// detection and runs TS ones through the aligner.
final class ProbeSink {
    let deadline: ContinuousClock.Instant
    let limit: Int
    var bytes: Int64 = 0
    var head: [UInt8] = []
    var firstByteAt: ContinuousClock.Instant?
    var lastByteAt: ContinuousClock.Instant?
    var aligner = TSPacketAligner()
    var stopped = false

    init(deadline: ContinuousClock.Instant, limit: Int) {
        self.deadline = deadline
        self.limit = limit
    }

    static let write: shim_curl_data_callback = { pointer, size, count, context in
        guard let pointer, let context else { return 0 }
        let sink = Unmanaged<ProbeSink>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        let now = ContinuousClock.now
        if sink.firstByteAt == nil { sink.firstByteAt = now }
        sink.lastByteAt = now
        sink.bytes += Int64(length)
        if sink.head.count < 16384 {
            pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                sink.head.append(contentsOf: UnsafeBufferPointer(start: $0, count: min(length, 16384 - sink.head.count)))
            }
        }
        if sink.head.first == 0x47 {
            sink.aligner.feed(UnsafeMutableRawBufferPointer(start: pointer, count: length)) { _, _ in }
        }
        if now >= sink.deadline || sink.bytes >= Int64(sink.limit) {
            sink.stopped = true
            return 0
        }
        return length
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
