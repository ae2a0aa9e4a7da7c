import Foundation
import SharecastCore
import SharecastStore
import SharecastStreaming
import SharecastUpstream

/// Why a provider's refresh failed. The catalog keeps the provider's last good channels.
public struct ProviderRefreshError: Error, CustomStringConvertible, Sendable {
    public var provider: String
    public var reason: String
    public var description: String { "provider \(provider): \(reason)" }
}

/// What one refresh did.
public struct ProviderRefreshReport: Sendable {
    public var provider: String
    public var entries: Int
    public var summary: CatalogSyncSummary
    public var warnings: [String]
    /// The provider answered 304 to the conditional requests: nothing was parsed or synced.
    public var notModified = false
}

/// Reads a provider's channel list (an Xtream panel's API, or an M3U playlist) and syncs it into
/// the catalog under the provider's name; for Xtream, also each login's state and limit, which
/// go to the status board and the slots. Blocking: runs on the refresh service's thread.
struct ProviderImporter: Sendable {
    var fetcher = HTTPFetcher()
    let validators = RefreshValidators()

    /// One refresh; the login states go to the board and the slots as they are read, the
    /// refresh's own outcome is recorded by `record` once the catalog serves it.
    func refresh(_ provider: ProviderConfig, database: SharecastDatabase, slots: ProviderSlots,
                 board: ProviderStatusBoard) -> Result<ProviderRefreshReport, ProviderRefreshError> {
        switch provider.kind {
        case .m3u: refreshM3U(provider, database: database, board: board)
        case .xtream: refreshXtream(provider, database: database, slots: slots, board: board)
        }
    }

    /// The refresh's outcome on the board (called after the catalog was reloaded, so an API
    /// reader that sees the new channel count also gets the new playlist).
    static func record(_ result: Result<ProviderRefreshReport, ProviderRefreshError>, of provider: String, on board: ProviderStatusBoard) {
        let now = Date()
        board.update(provider) { status in
            status.lastRefreshAt = now
            status.refreshes += 1
            switch result {
            case let .success(report):
                status.lastSuccessAt = now
                status.lastError = nil
                if !report.notModified {
                    status.lastChangeAt = now
                    status.channels = report.entries
                }
            case let .failure(error):
                status.lastError = error.reason
            }
        }
    }

    /// A GET with the provider's headers; conditional when `conditional` and the URL's validators
    /// are known.
    func get(_ url: String, for provider: ProviderConfig, conditional: Bool = false) throws(ProviderRefreshError) -> ConditionalFetch {
        do {
            let headers = provider.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            return try fetcher.fetch(url, headers: headers, userAgent: provider.userAgent,
                                     ifChangedSince: conditional ? validators.get(provider.name, url) : nil)
        } catch {
            throw ProviderRefreshError(provider: provider.name, reason: "\(StreamURLDisplay.redacted(error.url)): \(error.reason)")
        }
    }

    /// The body of an unconditional GET.
    func body(_ url: String, for provider: ProviderConfig) throws(ProviderRefreshError) -> (bytes: [UInt8], validators: HTTPValidators) {
        switch try get(url, for: provider) {
        case let .changed(bytes, validators): return (bytes, validators)
        case .notModified: return ([], HTTPValidators()) // not reached: no validators were sent
        }
    }

    func unchanged(_ provider: ProviderConfig, board: ProviderStatusBoard) -> ProviderRefreshReport {
        ProviderRefreshReport(provider: provider.name, entries: board.provider(provider.name)?.channels ?? 0,
                              summary: CatalogSyncSummary(), warnings: [], notModified: true)
    }

    func refreshM3U(_ provider: ProviderConfig, database: SharecastDatabase, board: ProviderStatusBoard) -> Result<ProviderRefreshReport, ProviderRefreshError> {
        let source = PlaylistSource(name: provider.name, source: provider.playlist, userAgent: provider.userAgent, headers: provider.headers)
        var importer = PlaylistImporter()
        importer.fetcher = fetcher
        do throws(ProviderRefreshError) {
            let parsed: M3UParser.Result, answered: HTTPValidators
            do {
                switch try importer.load(source, ifChangedSince: validators.get(provider.name, provider.playlist)) {
                case .notModified: return .success(unchanged(provider, board: board))
                case let .changed(result, validators):
                    parsed = result
                    answered = validators
                }
            } catch {
                throw ProviderRefreshError(provider: provider.name, reason: error.description)
            }
            let channels = withProviderOptions(CatalogChannel.fromPlaylist(parsed.entries, playlist: provider.name), provider)
            let report = try sync(channels, provider, database: database, entries: parsed.entries.count, warnings: parsed.warnings.map(\.description))
            validators.set(provider.name, [provider.playlist: answered])
            board.update(provider.name) { $0.guideURLs = parsed.guideURLs }
            return .success(report)
        } catch {
            return .failure(error)
        }
    }

    func refreshXtream(_ provider: ProviderConfig, database: SharecastDatabase, slots: ProviderSlots,
                       board: ProviderStatusBoard) -> Result<ProviderRefreshReport, ProviderRefreshError> {
        var catalogAccount: ProviderAccount?
        var problems: [String] = []
        for (index, account) in provider.accounts.enumerated() {
            let label = account.label(index: index)
            let info: XtreamAccountInfo
            do throws(ProviderRefreshError) {
                let bytes = try body(Self.apiURL(provider.server, account), for: provider).bytes
                do {
                    info = try XtreamParser.accountInfo(bytes)
                } catch {
                    throw ProviderRefreshError(provider: provider.name, reason: error.description)
                }
            } catch {
                problems.append("\(label): \(error.reason)")
                board.update(provider.name) { $0.accounts[index].message = error.reason }
                continue
            }
            let usable = info.status == .active || info.status == .unknown
            let limit = account.maxStreams.map { $0 > 0 ? $0 : nil } ?? info.maxConnections.flatMap { $0 > 0 ? $0 : nil }
            slots.setLimit(provider.name, account: index, limit: limit)
            slots.setUsable(provider.name, account: index, usable)
            board.update(provider.name) { status in
                status.accounts[index].status = info.status.rawValue
                status.accounts[index].message = info.statusText
                status.accounts[index].expiresAt = info.expiresAt
                status.accounts[index].maxStreams = limit
                status.accounts[index].activeConnections = info.activeConnections
            }
            if usable {
                if catalogAccount == nil { catalogAccount = account }
            } else {
                problems.append("\(label): \(info.statusText)")
            }
        }
        guard let account = catalogAccount else {
            return .failure(ProviderRefreshError(provider: provider.name, reason: "no login could read the catalog (\(problems.joined(separator: "; ")))"))
        }
        do throws(ProviderRefreshError) {
            // The login's state is always read afresh (above); the catalog only when it changed.
            let categoriesURL = Self.apiURL(provider.server, account, action: "get_live_categories")
            let streamsURL = Self.apiURL(provider.server, account, action: "get_live_streams")
            var categoriesAnswer = try get(categoriesURL, for: provider, conditional: true)
            var streamsAnswer = try get(streamsURL, for: provider, conditional: true)
            if categoriesAnswer == .notModified, streamsAnswer == .notModified {
                return .success(unchanged(provider, board: board))
            }
            // One changed: the other is needed whole to rebuild the catalog.
            if categoriesAnswer == .notModified { categoriesAnswer = try get(categoriesURL, for: provider) }
            if streamsAnswer == .notModified { streamsAnswer = try get(streamsURL, for: provider) }
            guard case let .changed(categoriesBytes, categoriesValidators) = categoriesAnswer,
                  case let .changed(streamsBytes, streamsValidators) = streamsAnswer else {
                throw ProviderRefreshError(provider: provider.name, reason: "HTTP status 304 to an unconditional request")
            }
            let categories: [XtreamCategory], streams: [XtreamStream], warnings: [String]
            do {
                let parsedCategories = try XtreamParser.categories(categoriesBytes)
                let parsedStreams = try XtreamParser.streams(streamsBytes)
                categories = parsedCategories.categories
                streams = parsedStreams.streams
                warnings = parsedCategories.warnings + parsedStreams.warnings
            } catch {
                throw ProviderRefreshError(provider: provider.name, reason: error.description)
            }
            let entries = XtreamCatalog.entries(streams: streams, categories: categories, server: provider.server)
            let channels = withProviderOptions(CatalogChannel.fromPlaylist(entries, playlist: provider.name), provider)
            let report = try sync(channels, provider, database: database, entries: entries.count, warnings: problems + warnings)
            validators.set(provider.name, [categoriesURL: categoriesValidators, streamsURL: streamsValidators])
            return .success(report)
        } catch {
            return .failure(error)
        }
    }

    /// The provider's user agent and headers, under a channel's own.
    func withProviderOptions(_ channels: [CatalogChannel], _ provider: ProviderConfig) -> [CatalogChannel] {
        guard provider.userAgent != nil || !provider.headers.isEmpty else { return channels }
        return channels.map { channel in
            var channel = channel
            if channel.userAgent == nil { channel.userAgent = provider.userAgent }
            channel.headers = provider.headers.merging(channel.headers) { _, own in own }
            return channel
        }
    }

    func sync(_ channels: [CatalogChannel], _ provider: ProviderConfig, database: SharecastDatabase, entries: Int,
              warnings: [String]) throws(ProviderRefreshError) -> ProviderRefreshReport {
        // A list that became empty is far more likely an outage than a provider with no channels.
        guard !channels.isEmpty else { throw ProviderRefreshError(provider: provider.name, reason: "the channel list is empty; keeping the previous one") }
        do {
            let summary = try database.syncChannels(channels, source: provider.name)
            return ProviderRefreshReport(provider: provider.name, entries: entries, summary: summary, warnings: warnings)
        } catch {
            throw ProviderRefreshError(provider: provider.name, reason: error.description)
        }
    }

    /// `<server>/player_api.php?username=&password=[&action=]`, the values percent-encoded.
    static func apiURL(_ server: String, _ account: ProviderAccount, action: String? = nil) -> String {
        "\(server)/player_api.php?username=\(AccountURL.escaped(account.username))&password=\(AccountURL.escaped(account.password.value))"
            + (action.map { "&action=\($0)" } ?? "")
    }
}
