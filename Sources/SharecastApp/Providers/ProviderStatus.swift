import Foundation
import SharecastCore
import SharecastSync

/// What Sharecast knows about each provider now: its last refresh and each login's state as the
/// panel reported it. Written by the refresh service, read by the API and metrics; never holds a
/// password.
public final class ProviderStatusBoard: Sendable {
    public struct Account: Sendable, Equatable {
        public var label: String
        /// `active`, `expired`, `banned`, `disabled`, `refused`, `unknown`; `unchecked` for m3u
        /// logins (nothing to ask) and before the first refresh.
        public var status: String
        public var message: String?
        public var expiresAt: Date?
        /// The limit in use: configured, or the panel's `max_connections`; nil for none.
        public var maxStreams: Int?
        public var activeConnections: Int?
    }

    public struct Provider: Sendable, Equatable {
        public var name: String
        public var kind: String
        public var accounts: [Account]
        public var channels: Int?
        public var lastRefreshAt: Date?
        /// Refreshes finished since start, successful or not: scripts that asked for one wait for
        /// it to move (the dates have whole seconds).
        public var refreshes = 0
        public var lastSuccessAt: Date?
        /// The last successful refresh that read a changed list (not a 304).
        public var lastChangeAt: Date?
        public var lastError: String?
        /// The guide URLs the provider's playlist names (`url-tvg`, `x-tvg-url`), kept for the
        /// guide; not shown (they may carry a login).
        public var guideURLs: [String] = []
    }

    private let state: Locked<[String: Provider]>
    private let order: [String]

    public init(_ providers: [ProviderConfig]) {
        order = providers.map(\.name)
        state = Locked(Dictionary(providers.map { provider in
            (provider.name, Provider(name: provider.name, kind: provider.kind.rawValue, accounts: provider.accounts.enumerated().map { index, account in
                Account(label: account.label(index: index), status: "unchecked", maxStreams: account.maxStreams.flatMap { $0 > 0 ? $0 : nil })
            }))
        }, uniquingKeysWith: { first, _ in first }))
    }

    public var providers: [Provider] {
        state.withLock { table in order.compactMap { table[$0] } }
    }

    public func provider(_ name: String) -> Provider? {
        state.withLock { $0[name] }
    }

    func update(_ name: String, _ change: (inout Provider) -> Void) {
        state.withLock { table in
            guard var provider = table[name] else { return }
            change(&provider)
            table[name] = provider
        }
    }
}
