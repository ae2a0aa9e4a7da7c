import Foundation
import SharecastMonitor
import SharecastStreaming

/// The providers as the monitor API shows them: the status board joined with the slots in use.
enum ProviderViews {
    static func make(board: ProviderStatusBoard, slots: ProviderSlots, now: ContinuousClock.Instant = .now) -> [ProviderView] {
        let figures = slots.figures
        return board.providers.map { provider in
            let held = figures.filter { $0.provider == provider.name }
            return ProviderView(
                name: provider.name, type: provider.kind, channels: provider.channels,
                accounts: provider.accounts.enumerated().map { index, account in
                    let slot = held.indices.contains(index) ? held[index] : nil
                    let resting = slot?.restingUntil.flatMap { until -> Date? in
                        until > now ? Date().addingTimeInterval(Double((until - now).components.seconds)) : nil
                    }
                    return ProviderView.Account(name: account.label, status: account.status, message: account.message, expiresAt: account.expiresAt,
                                                maxStreams: slot?.limit ?? account.maxStreams, streamsInUse: slot?.inUse ?? 0, restingUntil: resting)
                },
                lastRefreshAt: provider.lastRefreshAt, refreshes: provider.refreshes, lastSuccessAt: provider.lastSuccessAt,
                lastChangeAt: provider.lastChangeAt, lastError: provider.lastError
            )
        }
    }
}
