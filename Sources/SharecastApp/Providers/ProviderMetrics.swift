import Foundation
import SharecastMetrics
import SharecastStreaming

/// The providers' figures at each scrape: slots per login (limit and in use), account state and
/// expiry, and the last refresh. Labels are the provider's name and the login's user name (or
/// `accountN`), never a password; cardinality is the number of configured logins.
enum ProviderMetrics {
    static func write(into writer: inout MetricsWriter, board: ProviderStatusBoard, slots: ProviderSlots) {
        let providers = board.providers
        let figures = slots.figures
        guard !providers.isEmpty else { return }
        func accountLabels(_ provider: String, _ account: String) -> LabelSet { LabelSet([("provider", provider), ("account", account)]) }
        let managed = providers.filter { provider in figures.contains { $0.provider == provider.name } }

        writer.family("sharecast_provider_streams_max", .gauge, help: "Streams a login may hold at once (configured or the panel's max_connections); absent for no limit.")
        for provider in managed {
            for figure in figures where figure.provider == provider.name {
                if let limit = figure.limit { writer.gauge(accountLabels(provider.name, figure.account), Double(limit)) }
            }
        }
        writer.family("sharecast_provider_streams_in_use", .gauge, help: "Streams a login holds now (one per running channel).")
        for provider in managed {
            for figure in figures where figure.provider == provider.name {
                writer.gauge(accountLabels(provider.name, figure.account), Double(figure.inUse))
            }
        }
        writer.family("sharecast_provider_account_up", .gauge, help: "1 when the login can be used (the panel says active, or there is nothing to ask); 0 when expired, banned, disabled or refused.")
        for provider in providers {
            for account in provider.accounts {
                let up = ["active", "unknown", "unchecked"].contains(account.status)
                writer.gauge(accountLabels(provider.name, account.label), up ? 1 : 0)
            }
        }
        writer.family("sharecast_provider_account_expiry_timestamp_seconds", .gauge, help: "When the login expires, as the panel says (absent when it does not).", unit: "seconds")
        for provider in providers {
            for account in provider.accounts {
                if let expiry = account.expiresAt { writer.gauge(accountLabels(provider.name, account.label), expiry.timeIntervalSince1970) }
            }
        }
        writer.family("sharecast_provider_refresh_last_success_timestamp_seconds", .gauge, help: "When the provider's channel list was last read successfully (0: not yet).", unit: "seconds")
        for provider in providers {
            writer.gauge(LabelSet([("provider", provider.name)]), provider.lastSuccessAt?.timeIntervalSince1970 ?? 0)
        }
        writer.family("sharecast_provider_refresh_failing", .gauge, help: "1 when the provider's last refresh failed (its last good channel list is kept).")
        for provider in providers {
            writer.gauge(LabelSet([("provider", provider.name)]), provider.lastRefreshAt != nil && provider.lastError != nil ? 1 : 0)
        }
        writer.family("sharecast_provider_channels", .gauge, help: "Channels the provider's last good list held.")
        for provider in providers {
            if let channels = provider.channels { writer.gauge(LabelSet([("provider", provider.name)]), Double(channels)) }
        }
    }
}
