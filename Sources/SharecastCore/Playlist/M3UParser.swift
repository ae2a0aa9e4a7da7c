import Foundation

/// A tolerant reader of the M3U playlists IPTV providers publish.
///
/// Providers' files are messy: CRLF or bare CR line ends, a UTF-8 byte-order mark, no `#EXTM3U`
/// header, attributes in any order, quoted or not, commas inside quoted values, entries without a URL.
/// The parser keeps every entry it can make sense of and reports each one it skips as a warning that
/// names `file:line`; it never fails on a bad entry. It only refuses input that is plainly not a
/// playlist (binary data, HTML), so that a provider's error page never replaces a good catalog.
public struct M3UParser: Sendable {
    /// The name used in warnings: a path or a URL.
    public let source: String
    /// Longest line accepted; longer ones are skipped with a warning.
    public var maxLineLength = 64 * 1024

    public init(source: String) {
        self.source = source
    }

    public struct Result: Sendable, Equatable {
        public var entries: [M3UEntry]
        public var warnings: [PlaylistWarning]
        /// The guide URLs of the header (`url-tvg`, `x-tvg-url`; comma-separated lists split).
        public var guideURLs: [String] = []
    }

    public func parse(_ bytes: some Collection<UInt8>) throws(PlaylistError) -> Result {
        var data = Array(bytes)
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data.removeFirst(3) }
        if let nul = data.firstIndex(of: 0) {
            let place = TextPlace.of(byte: nul + (bytes.count - data.count), in: Array(bytes))
            throw .notAPlaylist(source: "\(source):\(place)", reason: "a NUL byte (binary data?)")
        }
        let text = String(decoding: data, as: UTF8.self)
        return try parse(text: text)
    }

    public func parse(text: String) throws(PlaylistError) -> Result {
        var entries: [M3UEntry] = []
        var warnings: [PlaylistWarning] = []
        var pending: (line: Int, title: String, attributes: [String: String], isBroken: Bool)?
        var pendingUserAgent: String?
        var pendingGroup: String?
        var pendingHeaders: [String: String] = [:]
        var guideURLs: [String] = []
        var sawHeader = false, sawAnything = false

        func warn(_ line: Int, _ message: String) {
            warnings.append(PlaylistWarning(file: source, line: line, message: message))
        }

        for (index, rawLine) in Self.lines(of: text).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty { continue }
            if line.utf8.count > maxLineLength {
                warn(lineNumber, "line longer than \(maxLineLength) bytes; skipped")
                continue
            }
            if !sawAnything {
                sawAnything = true
                let lower = line.lowercased()
                if lower.hasPrefix("<!doctype") || lower.hasPrefix("<html") || lower.hasPrefix("{") {
                    throw .notAPlaylist(source: source, reason: "line \(lineNumber) looks like HTML or JSON")
                }
            }
            if line.hasPrefix("#") {
                let upper = line.prefix(12).uppercased()
                if upper.hasPrefix("#EXTM3U") {
                    if sawHeader || !entries.isEmpty || pending != nil { warn(lineNumber, "repeated #EXTM3U header; ignored") }
                    sawHeader = true
                    if case let .success(header) = Self.parseExtinf(line.dropFirst(7) + ",") {
                        for name in ["url-tvg", "x-tvg-url"] {
                            for url in (header.attributes[name] ?? "").split(separator: ",") {
                                let url = String(url).trimmingWhitespace()
                                if StreamURL.problem(url, allowingBuiltin: false) == nil, !guideURLs.contains(url) { guideURLs.append(url) }
                            }
                        }
                    }
                } else if upper.hasPrefix("#EXTINF:") {
                    if let previous = pending {
                        warn(previous.line, "#EXTINF has no URL after it; skipped")
                    }
                    switch Self.parseExtinf(line.dropFirst(8)) {
                    case let .success(info):
                        pending = (lineNumber, info.title, info.attributes, false)
                    case let .failure(problem):
                        warn(lineNumber, "\(problem.message); entry skipped")
                        pending = (lineNumber, "", [:], true)
                    }
                } else if upper.hasPrefix("#EXTVLCOPT:") {
                    let option = line.dropFirst(11)
                    let lower = option.lowercased()
                    if lower.hasPrefix("http-user-agent=") {
                        pendingUserAgent = String(option.dropFirst("http-user-agent=".count))
                    } else if lower.hasPrefix("http-referrer=") || lower.hasPrefix("http-referer=") {
                        let value = String(option.drop(while: { $0 != "=" }).dropFirst())
                        if Self.isHeaderValue(value) { pendingHeaders["Referer"] = value } else { warn(lineNumber, "#EXTVLCOPT referrer is not a valid header value; ignored") }
                    } else if lower.hasPrefix("http-origin=") {
                        let value = String(option.dropFirst("http-origin=".count))
                        if Self.isHeaderValue(value) { pendingHeaders["Origin"] = value }
                    }
                } else if upper.hasPrefix("#KODIPROP:") {
                    // inputstream.adaptive.stream_headers / common_headers: Name=value&Name=value.
                    let property = line.dropFirst(10)
                    if let equals = property.firstIndex(of: "="),
                       ["inputstream.adaptive.stream_headers", "inputstream.adaptive.common_headers"].contains(property[..<equals].lowercased()) {
                        for (name, value) in Self.headerPairs(property[property.index(after: equals)...]) {
                            guard let name else { warn(lineNumber, "#KODIPROP header \(ConfigSchema.quoted(value)) is not a valid header; ignored"); continue }
                            if name.lowercased() == "user-agent" { pendingUserAgent = value } else { pendingHeaders[name] = value }
                        }
                    }
                } else if upper.hasPrefix("#EXTGRP:") {
                    pendingGroup = String(line.dropFirst(8)).trimmingWhitespace()
                }
                continue
            }
            // A URL line.
            let entryLine = pending?.line ?? lineNumber
            defer {
                pending = nil
                pendingUserAgent = nil
                pendingGroup = nil
                pendingHeaders = [:]
            }
            if pending?.isBroken == true { continue }
            // Kodi's `URL|Name=value&Name=value`: headers after a pipe.
            var url = Substring(line)
            if let pipe = line.firstIndex(of: "|") {
                url = line[..<pipe]
                for (name, value) in Self.headerPairs(line[line.index(after: pipe)...]) {
                    guard let name else { warn(lineNumber, "header \(ConfigSchema.quoted(value)) after '|' is not a valid header; ignored"); continue }
                    if name.lowercased() == "user-agent" { pendingUserAgent = value } else { pendingHeaders[name] = value }
                }
            }
            let address = String(url)
            if let problem = StreamURL.problem(address, allowingBuiltin: false) {
                warn(lineNumber, "\(problem); entry skipped")
                continue
            }
            var entry = M3UEntry(line: entryLine, title: pending?.title ?? "", url: address, attributes: pending?.attributes ?? [:])
            entry.userAgent = pendingUserAgent
            entry.headers = pendingHeaders
            if entry.group == nil, let pendingGroup, !pendingGroup.isEmpty { entry.attributes["group-title"] = pendingGroup }
            entries.append(entry)
        }
        if let pending {
            warn(pending.line, "#EXTINF has no URL after it; skipped")
        }
        if !sawAnything {
            throw .notAPlaylist(source: source, reason: "it is empty")
        }
        if entries.isEmpty, !sawHeader, warnings.isEmpty == false {
            throw .notAPlaylist(source: source, reason: "no #EXTM3U header and no usable entry")
        }
        return Result(entries: entries, warnings: warnings, guideURLs: guideURLs)
    }

    /// A header value from a playlist: no line breaks or other control characters, not too long.
    static func isHeaderValue(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 4096 && !value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// `Name=value&Name=value`, values percent-decoded; a pair that is not a valid header has a
    /// nil name (and its text as value, for the warning).
    static func headerPairs(_ text: Substring) -> [(name: String?, value: String)] {
        text.split(separator: "&").compactMap { pair -> (name: String?, value: String)? in
            guard let equals = pair.firstIndex(of: "=") else { return (nil, String(pair.prefix(60))) }
            let name = String(pair[..<equals]).trimmingWhitespace()
            let raw = String(pair[pair.index(after: equals)...])
            let value = raw.removingPercentEncoding ?? raw
            guard HTTPHeaderName.isValid(name), isHeaderValue(value) else { return (nil, String(pair.prefix(60))) }
            return (name, value)
        }
    }

    /// Splits on LF, CRLF and bare CR, keeping line numbers as an editor shows them.
    static func lines(of text: String) -> [Substring] {
        var result: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        // Swift treats "\r\n" as one Character, so a single pass over Characters handles all three.
        while index < text.endIndex {
            let character = text[index]
            if character == "\n" || character == "\r" || character == "\r\n" {
                result.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        if start < text.endIndex { result.append(text[start...]) }
        return result
    }

    struct ExtinfProblem: Error { let message: String }

    /// Parses what follows `#EXTINF:`: a duration, attributes (`key="value"` or `key=value`), a comma,
    /// and the title. Commas inside quoted values do not end the attributes.
    static func parseExtinf(_ body: Substring) -> Swift.Result<(title: String, attributes: [String: String]), ExtinfProblem> {
        let chars = Array(body.unicodeScalars)
        var index = 0
        var attributes: [String: String] = [:]
        func skipSpaces() { while index < chars.count, chars[index] == " " || chars[index] == "\t" { index += 1 } }

        // Duration: digits, sign, dot.
        while index < chars.count, chars[index] != " ", chars[index] != ",", chars[index] != "\t" { index += 1 }
        while true {
            skipSpaces()
            guard index < chars.count else {
                return .failure(ExtinfProblem(message: "#EXTINF without a title (no comma)"))
            }
            if chars[index] == "," { break }
            // Attribute name.
            let nameStart = index
            while index < chars.count, chars[index] != "=", chars[index] != " ", chars[index] != "," { index += 1 }
            let name = String(String.UnicodeScalarView(chars[nameStart..<index])).lowercased()
            guard index < chars.count, chars[index] == "=" else {
                // A bare word: providers sometimes write free text; keep going to the comma.
                if name.isEmpty { index += 1 }
                continue
            }
            index += 1
            var value = ""
            if index < chars.count, chars[index] == "\"" || chars[index] == "'" {
                let quote = chars[index]
                index += 1
                let valueStart = index
                while index < chars.count, chars[index] != quote { index += 1 }
                guard index < chars.count else {
                    return .failure(ExtinfProblem(message: "unterminated quote in attribute \(name)"))
                }
                value = String(String.UnicodeScalarView(chars[valueStart..<index]))
                index += 1
            } else {
                let valueStart = index
                while index < chars.count, chars[index] != " ", chars[index] != "," { index += 1 }
                value = String(String.UnicodeScalarView(chars[valueStart..<index]))
            }
            if !name.isEmpty { attributes[name] = value.trimmingWhitespace() }
        }
        let title = String(String.UnicodeScalarView(chars[(index + 1)...])).trimmingWhitespace()
        return .success((title, attributes))
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
