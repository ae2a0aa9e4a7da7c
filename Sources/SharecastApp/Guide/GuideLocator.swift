import SharecastCore

/// Where each guide source is read from at the moment of an import. `epg_sources` and a
/// provider's `epg: <url or file>` are fixed; a provider's own guide is found by itself: an Xtream
/// panel's `xmltv.php` for the login the catalog is read with (built afresh each time, so a
/// changed password is used), an M3U's `url-tvg` / `x-tvg-url` as its playlist last named them
/// (tokens in them rotate with the playlist). A provider's guide is asked with its user agent and
/// headers.
enum GuideLocator {
    static func locations(of source: GuideSourceConfig, providers: [ProviderConfig], board: ProviderStatusBoard) -> GuideImporter.Locations {
        guard let name = source.provider, let provider = providers.first(where: { $0.name == name }) else {
            return GuideImporter.Locations(locations: [source.source], userAgent: source.userAgent)
        }
        let headers = provider.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var found = GuideImporter.Locations(locations: [], headers: headers, userAgent: provider.userAgent)
        if !source.source.isEmpty {
            found.locations = [source.source]
            return found
        }
        switch provider.kind {
        case .xtream:
            let states = board.provider(name)?.accounts ?? []
            let usable = provider.accounts.indices.first { index in index < states.count && states[index].status == XtreamAccountInfo.Status.active.rawValue } ?? 0
            guard provider.accounts.indices.contains(usable) else { return found }
            found.locations = [xmltvURL(provider.server, provider.accounts[usable])]
        case .m3u:
            found.locations = board.provider(name)?.guideURLs ?? []
        }
        return found
    }

    /// The panel's guide for a login (the password is in the query, which logs never show).
    static func xmltvURL(_ server: String, _ account: ProviderAccount) -> String {
        "\(server)/xmltv.php?username=\(AccountURL.escaped(account.username))&password=\(AccountURL.escaped(account.password.value))"
    }
}
