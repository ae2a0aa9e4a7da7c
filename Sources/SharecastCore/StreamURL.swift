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
/// there). Every message that names an upstream URL goes through this.
public enum StreamURLDisplay {
    public static func redacted(_ url: String) -> String {
        guard let query = url.utf8.firstIndex(of: UInt8(ascii: "?")) else { return url }
        return String(url[..<query]) + "?…"
    }
}
