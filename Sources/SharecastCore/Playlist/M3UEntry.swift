import Foundation

/// One channel entry of an M3U playlist, as written by the provider.
public struct M3UEntry: Sendable, Equatable {
    /// The 1-based line of the entry's `#EXTINF` (or of its URL when it has none).
    public var line: Int
    public var title: String
    public var url: String
    /// `#EXTINF` attributes with lower-cased names: `tvg-id`, `tvg-name`, `tvg-logo`, `group-title`, ...
    public var attributes: [String: String]
    /// From `#EXTVLCOPT:http-user-agent=` (or a Kodi header list).
    public var userAgent: String?
    /// Headers to send upstream: `#EXTVLCOPT:http-referrer` (as `Referer`), `#KODIPROP`
    /// `inputstream.adaptive.stream_headers`, and Kodi's `URL|Name=value`.
    public var headers: [String: String] = [:]

    public init(line: Int, title: String, url: String, attributes: [String: String] = [:], userAgent: String? = nil) {
        self.line = line
        self.title = title
        self.url = url
        self.attributes = attributes
        self.userAgent = userAgent
    }

    public var tvgID: String? { attributes["tvg-id"].flatMap { $0.isEmpty ? nil : $0 } }
    public var tvgName: String? { attributes["tvg-name"].flatMap { $0.isEmpty ? nil : $0 } }
    public var logo: String? { attributes["tvg-logo"].flatMap { $0.isEmpty ? nil : $0 } }
    public var group: String? { attributes["group-title"].flatMap { $0.isEmpty ? nil : $0 } }
    /// `tvg-chno`, when it is a channel number (0 to 999999).
    public var channelNumber: Int? {
        attributes["tvg-chno"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.flatMap { (0...999_999).contains($0) ? $0 : nil }
    }

    /// What a viewer should see: the title, else tvg-name, else tvg-id, else the URL's last part.
    public var displayName: String {
        if !title.isEmpty { return title }
        if let tvgName { return tvgName }
        if let tvgID { return tvgID }
        return url.split(separator: "/").last.map(String.init) ?? url
    }
}

/// Something in a playlist that was skipped or repaired, with its `file:line`.
public struct PlaylistWarning: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// Why a playlist could not be loaded at all (a bad entry is a warning, not an error).
public enum PlaylistError: Error, CustomStringConvertible, Equatable {
    case unreadable(source: String, reason: String)
    case notAPlaylist(source: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(source, reason): "cannot read playlist \(source): \(reason)"
        case let .notAPlaylist(source, reason): "\(source): not an M3U playlist: \(reason)"
        }
    }
}
