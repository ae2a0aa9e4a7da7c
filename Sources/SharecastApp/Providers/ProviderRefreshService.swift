import Foundation
import Logging
import SharecastCore
import SharecastStore
import SharecastStreaming
import SharecastSync

/// Re-reads each provider's channel list: at start, every `refresh_interval`, and when asked
/// (`POST /api/monitor/providers/{name}/refresh`, `sharecast providers refresh`). One thread of the
/// lifecycle; a refresh that fails keeps the last good list and is tried again after a back-off
/// (a minute, doubling up to the interval).
final class ProviderRefreshService: Sendable {
    let providers: [ProviderConfig]
    private let importer = ProviderImporter()
    private let database: SharecastDatabase
    private let catalog: ChannelCatalog
    private let slots: ProviderSlots
    let board: ProviderStatusBoard
    private let logger: Logger
    private let requested = Locked<Set<String>>([])
    /// Refreshes finished since start (successful or not); tests and start-up wait on it.
    let completed = Locked<Int>(0)
    private let thread: ServiceThread
    /// Called after a refresh that added channels to the catalog (the guide maps them then).
    let channelsAdded = Locked<(@Sendable () -> Void)?>(nil)

    init(providers: [ProviderConfig], database: SharecastDatabase, catalog: ChannelCatalog, slots: ProviderSlots,
         board: ProviderStatusBoard, logger: Logger) {
        self.providers = providers
        self.database = database
        self.catalog = catalog
        self.slots = slots
        self.board = board
        self.logger = logger
        let requested = self.requested
        let work = WeakBox<ProviderRefreshService>()
        thread = ServiceThread(name: "sharecast-providers") { thread in
            var due = Dictionary(providers.map { ($0.name, ContinuousClock.now) }, uniquingKeysWith: { first, _ in first })
            var failures: [String: Int] = [:]
            while !thread.isStopping {
                let asked = requested.withLock { names in
                    defer { names.removeAll() }
                    return names
                }
                let now = ContinuousClock.now
                for provider in providers where !thread.isStopping {
                    guard asked.contains(provider.name) || (due[provider.name].map { $0 <= now } ?? false) else { continue }
                    guard let service = work.value else { return }
                    let ok = service.refreshNow(provider)
                    failures[provider.name] = ok ? 0 : (failures[provider.name] ?? 0) + 1
                    if provider.refreshInterval > .zero {
                        let backoff = Duration.seconds(60) * (1 << min(failures[provider.name] ?? 0, 10))
                        due[provider.name] = .now + (ok ? provider.refreshInterval : min(backoff / 2, provider.refreshInterval))
                    } else {
                        due[provider.name] = nil
                    }
                }
                let next = due.values.min()
                guard thread.wait(until: next ?? .now + .seconds(3600)) else { break }
            }
        }
        work.value = self
    }

    func start() { thread.start() }
    func stop() { thread.stop() }

    /// Asks for a refresh of `name` soon; false when there is no such provider.
    func request(_ name: String) -> Bool {
        guard providers.contains(where: { $0.name == name }) else { return false }
        requested.withLock { _ = $0.insert(name) }
        thread.wake()
        return true
    }

    /// One refresh, logged; the catalog is reloaded after a successful one, before the board
    /// shows it.
    @discardableResult
    func refreshNow(_ provider: ProviderConfig) -> Bool {
        defer { completed.withLock { $0 += 1 } }
        let result = importer.refresh(provider, database: database, slots: slots, board: board)
        defer { ProviderImporter.record(result, of: provider.name, on: board) }
        switch result {
        case let .success(report) where report.notModified:
            logger.info("provider unchanged (304); catalog kept", metadata: ["provider": "\(provider.name)"])
            return true
        case let .success(report):
            for warning in report.warnings.prefix(50) {
                logger.warning("provider entry skipped", metadata: ["provider": "\(provider.name)", "why": "\(warning)"])
            }
            do {
                try catalog.reload(from: database)
            } catch {
                logger.error("catalog reload failed", metadata: ["error": "\(error)"])
            }
            if report.summary.added > 0, let hook = channelsAdded.withLock({ $0 }) { hook() }
            logger.info("provider refreshed", metadata: [
                "provider": "\(provider.name)", "entries": "\(report.entries)", "added": "\(report.summary.added)",
                "updated": "\(report.summary.updated)", "removed": "\(report.summary.removed)", "warnings": "\(report.warnings.count)",
            ])
            return true
        case let .failure(error):
            logger.error("provider refresh failed; keeping the previous channels", metadata: ["provider": "\(provider.name)", "error": "\(error.reason)"])
            return false
        }
    }
}
