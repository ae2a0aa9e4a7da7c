import SharecastCore

/// Where a session's upstream URLs come from at each connect: the catalog as it is now (a
/// provider's refresh may have rotated the tokens in them) and the login the session holds.
public protocol UpstreamResolver: Sendable {
    /// The URLs `channel` opens with `lease`'s login; empty when none can be made.
    func urls(for channel: CatalogChannel, lease: SlotLease?) -> [String]
}

/// The channel's own URLs, as they are (inline channels, tests).
public struct FixedURLs: UpstreamResolver {
    public init() {}

    public func urls(for channel: CatalogChannel, lease: SlotLease?) -> [String] {
        channel.urls
    }
}
