/// The upstream URLs a channel may name: http(s) URLs, and `builtin:testpattern`.
public enum StreamURL {
    public static let testPattern = "builtin:testpattern"

    /// Why `url` cannot be a channel's upstream, or nil when it can.
    public static func problem(_ url: String, allowingBuiltin: Bool = true) -> String? {
        if allowingBuiltin, url == testPattern { return nil }
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            let expected = allowingBuiltin ? "an http(s) URL or \(testPattern)" : "an http(s) URL"
            return "expected \(expected), got \(ConfigSchema.quoted(url))"
        }
        let rest = url.drop(while: { $0 != ":" }).dropFirst(3)
        if rest.isEmpty || rest.hasPrefix("/") || url.contains(where: { $0.isWhitespace || $0.isNewline }) {
            return "expected an http(s) URL with a host, got \(ConfigSchema.quoted(url))"
        }
        return nil
    }
}

/// RFC 9110 token characters, for header names taken from configuration.
public enum HTTPHeaderName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            ChannelID.isAlphanumeric(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// URLs as they may be shown, logged and stored: without the query (providers put credentials
/// there) and without the login of Xtream-style paths (`/live/<user>/<pass>/<id>.ts`, and the
/// `/<user>/<pass>/<id>` of their M3U lists), which carry the password in the path. Every message,
/// metric and row that names an upstream URL goes through this.
public enum StreamURLDisplay {
    static let hidden = "***"
    static let loginPaths: Set<Substring> = ["live", "movie", "series", "timeshift", "hls", "hlsr"]

    public static func redacted(_ url: String) -> String {
        var base = Substring(url)
        var tail = ""
        if let query = url.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            base = url[..<query]
            tail = "?…"
        }
        // scheme://authority/path...
        guard let schemeEnd = base.range(of: "://") else { return String(base) + tail }
        let afterScheme = base[schemeEnd.upperBound...]
        let pathStart = afterScheme.firstIndex(of: "/") ?? base.endIndex
        var authority = String(base[..<pathStart])
        // user:password@host
        if let at = base[schemeEnd.upperBound..<pathStart].lastIndex(of: "@") {
            authority = String(base[..<schemeEnd.upperBound]) + hidden + String(base[at..<pathStart])
        }
        guard pathStart < base.endIndex else { return authority + tail }
        var segments = base[pathStart...].split(separator: "/", omittingEmptySubsequences: false)
        // segments[0] is "" (the leading slash).
        if segments.count >= 4, loginPaths.contains(segments[1]) {
            segments[2] = Substring(hidden)
            segments[3] = Substring(hidden)
        } else if segments.count >= 4, let last = segments.last, isStreamID(last) {
            segments[segments.count - 2] = Substring(hidden)
            segments[segments.count - 3] = Substring(hidden)
        }
        return authority + segments.joined(separator: "/") + tail
    }

    /// `12345`, `12345.ts`, `12345.m3u8`: the last part of an Xtream stream URL.
    static func isStreamID(_ segment: Substring) -> Bool {
        let stem = segment.split(separator: ".", maxSplits: 1).first ?? segment
        return !stem.isEmpty && stem.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
