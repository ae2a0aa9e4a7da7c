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
    private let schedule: RefreshSchedule
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
        let schedule = RefreshSchedule(jobs: providers.map { RefreshSchedule.Job(name: $0.name, interval: $0.refreshInterval) },
                                       firstBackoff: .seconds(60))
        self.schedule = schedule
        let work = WeakBox<ProviderRefreshService>()
        thread = ServiceThread(name: "sharecast-providers") { thread in
            schedule.run(on: thread) { index in work.value?.refreshNow(providers[index]) }
        }
        work.value = self
    }

    func start() { thread.start() }
    func stop() { thread.stop() }

    /// Asks for a refresh of `name` soon; false when there is no such provider.
    func request(_ name: String) -> Bool {
        schedule.request(name, waking: thread)
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
