import SharecastCore
import SharecastStreaming

/// A session's upstream URLs at each connect: the channel as the catalog holds it now (a refresh
/// may have rotated its tokens), with the login of the slot the session holds filled in.
struct ProviderURLResolver: UpstreamResolver {
    let catalog: ChannelCatalog
    let accounts: [String: [ProviderAccount]]

    init(catalog: ChannelCatalog, providers: [ProviderConfig]) {
        self.catalog = catalog
        accounts = Dictionary(providers.map { ($0.name, $0.accounts) }, uniquingKeysWith: { first, _ in first })
    }

    func urls(for channel: CatalogChannel, lease: SlotLease?) -> [String] {
        let current = catalog.channel(id: channel.id)?.channel.urls ?? channel.urls
        guard let logins = accounts[channel.source], !logins.isEmpty else { return current }
        let index = lease.map(\.account) ?? 0
        let account = logins.indices.contains(index) ? logins[index] : logins[0]
        return current.compactMap { AccountURL.resolve($0, for: account) }
    }
}
