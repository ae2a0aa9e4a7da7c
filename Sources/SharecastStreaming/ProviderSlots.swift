import SharecastSync

/// One slot of one login: what a running session of a provider's channel holds.
public struct SlotLease: Sendable, Equatable, Hashable {
    public var provider: String
    /// The account's index in the provider's `accounts`.
    public var account: Int

    public init(provider: String, account: Int) {
        self.provider = provider
        self.account = account
    }
}

/// How many streams each login of each provider may hold and holds, so that Sharecast never opens
/// more connections than a subscription allows (the provider would refuse them, or ban the login).
///
/// A new session takes the first account, in the configuration's order, with a free slot that is
/// not resting after a refusal; it gives the slot back when its upstream has closed. All state is
/// behind one lock; nothing here blocks or does I/O.
public final class ProviderSlots: Sendable {
    public struct Account: Sendable, Equatable {
        public var label: String
        /// nil or 0: no limit.
        public var limit: Int?

        public init(label: String, limit: Int?) {
            self.label = label
            self.limit = limit
        }
    }

    /// One account's figures, for metrics and the API.
    public struct AccountFigures: Sendable, Equatable {
        public var provider: String
        public var account: String
        public var limit: Int?
        public var inUse: Int
        /// Refused by the provider and resting until then.
        public var restingUntil: ContinuousClock.Instant?
    }

    struct AccountState {
        var account: Account
        var inUse = 0
        var restingUntil: ContinuousClock.Instant?
        /// The panel says the login cannot be used (expired, banned, refused).
        var unusable = false

        func isFree(at now: ContinuousClock.Instant) -> Bool {
            if unusable { return false }
            if let until = restingUntil, until > now { return false }
            guard let limit = account.limit, limit > 0 else { return true }
            return inUse < limit
        }
    }

    private let state: Locked<[String: [AccountState]]>

    public init(providers: [String: [Account]]) {
        state = Locked(providers.mapValues { $0.map { AccountState(account: $0) } })
    }

    /// Whether sessions of `provider`'s channels need a slot.
    public func manages(_ provider: String) -> Bool {
        state.withLock { $0[provider] != nil }
    }

    /// The first account with a free slot, taken; nil when every slot is in use (or resting).
    public func acquire(_ provider: String, excluding: Set<Int> = [], now: ContinuousClock.Instant = .now) -> SlotLease? {
        state.withLock { table in
            guard var accounts = table[provider] else { return nil }
            guard let index = accounts.indices.first(where: { !excluding.contains($0) && accounts[$0].isFree(at: now) }) else { return nil }
            accounts[index].inUse += 1
            table[provider] = accounts
            return SlotLease(provider: provider, account: index)
        }
    }

    public func release(_ lease: SlotLease) {
        state.withLock { table in
            guard var accounts = table[lease.provider], accounts.indices.contains(lease.account) else { return }
            accounts[lease.account].inUse = max(accounts[lease.account].inUse - 1, 0)
            table[lease.provider] = accounts
        }
    }

    /// The provider refused `lease`'s login although a slot looked free (another device uses it):
    /// that account rests for `rest`, and the session moves to the next free account, if any.
    /// Returns the new lease (the old one is given back), or nil (the old one is kept).
    public func refused(_ lease: SlotLease, rest: Duration, now: ContinuousClock.Instant = .now) -> SlotLease? {
        state.withLock { table in
            guard var accounts = table[lease.provider], accounts.indices.contains(lease.account) else { return nil }
            accounts[lease.account].restingUntil = now + rest
            guard let next = accounts.indices.first(where: { $0 != lease.account && accounts[$0].isFree(at: now) }) else {
                table[lease.provider] = accounts
                return nil
            }
            accounts[lease.account].inUse = max(accounts[lease.account].inUse - 1, 0)
            accounts[next].inUse += 1
            table[lease.provider] = accounts
            return SlotLease(provider: lease.provider, account: next)
        }
    }

    /// A limit learned later (an Xtream panel's `max_connections`); nil keeps the account unlimited.
    public func setLimit(_ provider: String, account: Int, limit: Int?) {
        state.withLock { table in
            guard var accounts = table[provider], accounts.indices.contains(account) else { return }
            accounts[account].account.limit = limit
            table[provider] = accounts
        }
    }

    /// Marks a login (un)usable, as the panel last reported it.
    public func setUsable(_ provider: String, account: Int, _ usable: Bool) {
        state.withLock { table in
            guard var accounts = table[provider], accounts.indices.contains(account) else { return }
            accounts[account].unusable = !usable
            table[provider] = accounts
        }
    }

    /// Whether any login of `provider` may be used at all (not expired, banned or refused).
    public func hasUsableLogin(_ provider: String) -> Bool {
        state.withLock { $0[provider]?.contains { !$0.unusable } ?? false }
    }

    /// Slots free now across the provider's accounts; nil when one of them has no limit.
    public func freeSlots(_ provider: String, now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { table in
            guard let accounts = table[provider] else { return nil }
            var free = 0
            for account in accounts {
                if account.unusable { continue }
                if let until = account.restingUntil, until > now { continue }
                guard let limit = account.account.limit, limit > 0 else { return nil }
                free += max(limit - account.inUse, 0)
            }
            return free
        }
    }

    public var figures: [AccountFigures] {
        state.withLock { table in
            table.keys.sorted().flatMap { provider in
                (table[provider] ?? []).map {
                    AccountFigures(provider: provider, account: $0.account.label, limit: $0.account.limit, inUse: $0.inUse, restingUntil: $0.restingUntil)
                }
            }
        }
    }
}
