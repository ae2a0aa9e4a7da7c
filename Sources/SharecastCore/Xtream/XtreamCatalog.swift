import Foundation

/// An Xtream panel's live streams as playlist entries, so they become catalog channels the way an
/// M3U's do (ids from the name, stable across refreshes). The stream URL is a template that holds
/// no login: `{username}` and `{password}` are filled in for the account a session uses, when it
/// starts, so no password is ever stored with the catalog.
public enum XtreamCatalog {
    public static func entries(streams: [XtreamStream], categories: [XtreamCategory], server: String) -> [M3UEntry] {
        let groups = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        return streams.enumerated().map { index, stream in
            var attributes: [String: String] = [:]
            if let epg = stream.epgChannelID { attributes["tvg-id"] = epg }
            if let icon = stream.icon { attributes["tvg-logo"] = icon }
            if let category = stream.categoryID, let group = groups[category], !group.isEmpty { attributes["group-title"] = group }
            if let number = stream.number { attributes["tvg-chno"] = String(number) }
            return M3UEntry(line: index + 1, title: stream.name, url: streamURL(server: server, streamID: stream.streamID), attributes: attributes)
        }
    }

    /// `<server>/live/{username}/{password}/<id>.ts`.
    public static func streamURL(server: String, streamID: Int) -> String {
        "\(server)/live/\(AccountURL.usernamePlaceholder)/\(AccountURL.passwordPlaceholder)/\(streamID).ts"
    }
}

/// Fills an account's login into a channel's URL: the placeholders of an Xtream template, or an
/// M3U account's `match`/`replace` rewrite of the playlist's own URL.
public enum AccountURL {
    public static let usernamePlaceholder = "{username}"
    public static let passwordPlaceholder = "{password}"

    /// The URL `account` opens for the stored `url`; nil when its rewrite does not apply (the
    /// URL does not match), so that account cannot serve the channel.
    public static func resolve(_ url: String, for account: ProviderAccount) -> String? {
        var result = url
        if let rewrite = account.rewrite {
            guard let expression = try? NSRegularExpression(pattern: rewrite.match) else { return nil }
            let range = NSRange(url.startIndex..., in: url)
            guard expression.firstMatch(in: url, range: range) != nil else { return nil }
            let template = rewrite.replace
                .replacingOccurrences(of: usernamePlaceholder, with: NSRegularExpression.escapedTemplate(for: escaped(account.username)))
                .replacingOccurrences(of: passwordPlaceholder, with: NSRegularExpression.escapedTemplate(for: escaped(account.password.value)))
            result = expression.stringByReplacingMatches(in: url, range: range, withTemplate: template)
        }
        return result
            .replacingOccurrences(of: usernamePlaceholder, with: escaped(account.username))
            .replacingOccurrences(of: passwordPlaceholder, with: escaped(account.password.value))
    }

    /// A login as one path segment or query value: everything but unreserved characters
    /// percent-encoded.
    public static func escaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
