import Foundation
import Logging
import SharecastCore
import SharecastGuide
import SharecastMetrics
import SharecastMonitor
import SharecastStore
import SharecastSync

/// Keeps the guide: imports each of its sources at start, every `refresh_interval` and when
/// asked, one at a time on its own thread of the lifecycle. A failed import keeps the source's
/// previous guide and is tried again after a back-off (2 minutes, doubling, at most the interval).
final class GuideService: Sendable {
    struct SourceStatus: Sendable, Equatable {
        var lastRefreshAt: Date?
        var lastSuccessAt: Date?
        var lastChangeAt: Date?
        var lastError: String?
        var refreshes = 0
        var programmes = 0
        var channelsMapped = 0
        var channelsUnmapped = 0
        var covered: Set<String> = []
    }

    let sources: [GuideSourceConfig]
    private let importer = GuideImporter()
    private let database: SharecastDatabase
    private let catalog: ChannelCatalog
    private let settings: GuideConfig
    let workDirectory: String
    private let logger: Logger
    private let locate: @Sendable (GuideSourceConfig) -> GuideImporter.Locations
    private let schedule: RefreshSchedule
    let status: Locked<[String: SourceStatus]>
    /// Imports finished since start; tests wait on it.
    let completed = Locked<Int>(0)
    private let thread: ServiceThread

    /// `catalogReady`: true once every provider has been read once; the first imports wait for it
    /// (at most two minutes), since programmes are kept only for channels in the catalog.
    /// `locate`: where a source is read from at this import (a provider's guide URL carries its
    /// current login and token; an M3U names its guides in the playlist it last read).
    init(sources: [GuideSourceConfig], settings: GuideConfig, database: SharecastDatabase, catalog: ChannelCatalog, workDirectory: String,
         catalogReady: @escaping @Sendable () -> Bool = { true },
         locate: @escaping @Sendable (GuideSourceConfig) -> GuideImporter.Locations = { GuideImporter.Locations(locations: [$0.source], userAgent: $0.userAgent) },
         logger: Logger) {
        self.sources = sources
        self.locate = locate
        self.settings = settings
        self.database = database
        self.catalog = catalog
        self.workDirectory = workDirectory
        self.logger = logger
        var initial: [String: SourceStatus] = [:]
        let stored = (try? database.guideSources()) ?? []
        let coverage = (try? database.guideCoverage()) ?? [:]
        for source in sources {
            var status = SourceStatus()
            if let record = stored.first(where: { $0.name == source.name }) {
                status.lastSuccessAt = record.importedAt
                status.lastChangeAt = record.importedAt
                status.programmes = record.programmes
                status.channelsMapped = record.channelsMapped
                status.channelsUnmapped = record.channelsUnmapped
                status.covered = coverage[source.name] ?? []
            }
            initial[source.name] = status
        }
        status = Locked(initial)
        let schedule = RefreshSchedule(jobs: sources.map { RefreshSchedule.Job(name: $0.name, interval: $0.refreshInterval) },
                                       firstBackoff: .seconds(120))
        self.schedule = schedule
        let work = WeakBox<GuideService>()
        thread = ServiceThread(name: "sharecast-guide") { thread in
            let waitingSince = ContinuousClock.now
            while !catalogReady(), ContinuousClock.now - waitingSince < .seconds(120) {
                guard thread.wait(until: .now + .milliseconds(100)) || !thread.isStopping else { return }
            }
            schedule.run(on: thread) { index in work.value?.refreshNow(sources[index]) }
        }
        work.value = self
    }

    func start() {
        do {
            try database.removeGuideSources(except: Set(sources.map(\.name)))
        } catch {
            logger.warning("could not remove guides of sources no longer configured", metadata: ["error": "\(error)"])
        }
        thread.start()
    }

    func stop() { thread.stop() }

    /// Asks for a re-import of every source (the catalog gained channels).
    func requestAll() {
        schedule.requestAll(waking: thread)
    }

    func request(_ name: String) -> Bool {
        schedule.request(name, waking: thread)
    }

    /// The served guide channel of each catalog channel: its tvg-id, else its id.
    static func servedID(_ channel: CatalogChannel) -> String {
        channel.tvgID.flatMap { $0.isEmpty ? nil : $0 } ?? channel.id
    }

    @discardableResult
    func refreshNow(_ source: GuideSourceConfig) -> Bool {
        defer { completed.withLock { $0 += 1 } }
        let mappings = settings.mappings
        let targets = catalog.current.channels.map { stored in
            let channel = stored.channel
            return GuideMapper.Target(servedID: Self.servedID(channel), name: channel.name, tvgID: channel.tvgID,
                                      override: mappings[channel.id] ?? channel.number.flatMap { mappings[String($0)] })
        }
        let started = ContinuousClock.now
        let result = importer.refresh(source, from: locate(source), targets: targets, settings: settings, database: database, workDirectory: workDirectory,
                                      now: Int64(Date().timeIntervalSince1970))
        let now = Date()
        status.withLock { table in
            var entry = table[source.name] ?? SourceStatus()
            entry.lastRefreshAt = now
            entry.refreshes += 1
            switch result {
            case let .success(report):
                entry.lastSuccessAt = now
                entry.lastError = nil
                if !report.notModified {
                    entry.lastChangeAt = now
                    entry.programmes = report.programmes
                    entry.channelsMapped = report.channelsMapped
                    entry.channelsUnmapped = report.channelsUnmapped
                    entry.covered = report.covered
                }
            case let .failure(error):
                entry.lastError = error.reason
            }
            table[source.name] = entry
        }
        switch result {
        case let .success(report) where report.nothingNamed:
            logger.debug("the provider names no guide", metadata: ["guide": "\(source.name)"])
            return true
        case let .success(report) where report.notModified:
            logger.info("guide unchanged (304)", metadata: ["guide": "\(source.name)"])
            return true
        case let .success(report):
            logger.info("guide imported", metadata: [
                "guide": "\(source.name)", "programmes": "\(report.programmes)", "skipped": "\(report.skipped)",
                "channels_mapped": "\(report.channelsMapped)", "channels_unmapped": "\(report.channelsUnmapped)",
                "seconds": "\(ContinuousClock.now - started)",
            ])
            return true
        case let .failure(error):
            logger.error("guide import failed; keeping the previous guide", metadata: ["guide": "\(source.name)", "error": "\(error.reason)"])
            return false
        }
    }

    /// What catalog channel `channelID` airs now and next, from the first source (in the order
    /// the guide is served from) that has programmes for it around now.
    func nowNext(channelID: String, at date: Date = Date()) -> NowNextView? {
        guard let stored = catalog.current.channels.first(where: { $0.channel.id == channelID }) else { return nil }
        let served = Self.servedID(stored.channel)
        let now = Int64(date.timeIntervalSince1970)
        for source in sources {
            guard let programmes = try? database.programmes(channel: served, source: source.name, from: now, until: now + 2 * 86_400, limit: 2),
                  let first = programmes.first else { continue }
            func view(_ programme: StoredProgramme) -> ProgrammeView {
                ProgrammeView(title: programme.title, start: Date(timeIntervalSince1970: TimeInterval(programme.start)),
                              stop: programme.stop.map { Date(timeIntervalSince1970: TimeInterval($0)) }, source: source.name)
            }
            if first.start <= now { return NowNextView(now: view(first), next: programmes.dropFirst().first.map(view)) }
            return NowNextView(now: nil, next: view(first))
        }
        return nil
    }

    /// The sources as `GET /api/monitor/guide` shows them.
    func views() -> [GuideSourceView] {
        let table = status.withLock { $0 }
        return sources.map { source in
            let entry = table[source.name] ?? SourceStatus()
            return GuideSourceView(name: source.name, provider: source.provider, lastRefreshAt: entry.lastRefreshAt, refreshes: entry.refreshes,
                                   lastSuccessAt: entry.lastSuccessAt, lastChangeAt: entry.lastChangeAt, lastError: entry.lastError,
                                   programmes: entry.programmes, channelsMapped: entry.channelsMapped, channelsUnmapped: entry.channelsUnmapped)
        }
    }

    /// Catalog channels (by served guide channel) with and without programmes from any source.
    func coverage() -> (mapped: Int, unmapped: Int) {
        let covered = status.withLock { table in table.values.reduce(into: Set<String>()) { $0.formUnion($1.covered) } }
        let served = Set(catalog.current.channels.map { Self.servedID($0.channel) })
        let mapped = served.intersection(covered).count
        return (mapped, served.count - mapped)
    }

    /// The `sharecast_epg_*` families.
    func writeMetrics(into writer: inout MetricsWriter) {
        let table = status.withLock { $0 }
        writer.family("sharecast_epg_programmes", .gauge, help: "Programmes of each guide source in the kept window, as last imported.")
        for source in sources { writer.gauge(LabelSet([("source", source.name)]), Double(table[source.name]?.programmes ?? 0)) }
        writer.family("sharecast_epg_refresh_last_success_timestamp_seconds", .gauge, help: "Last successful import (or 304) of each guide source; 0: none yet.")
        for source in sources { writer.gauge(LabelSet([("source", source.name)]), table[source.name]?.lastSuccessAt?.timeIntervalSince1970 ?? 0) }
        writer.family("sharecast_epg_refresh_failing", .gauge, help: "1 while the last import of the guide source failed (its previous guide is served).")
        for source in sources { writer.gauge(LabelSet([("source", source.name)]), table[source.name]?.lastError == nil ? 0 : 1) }
        let (mapped, unmapped) = coverage()
        writer.family("sharecast_epg_channels", .gauge, help: "Catalog channels with programmes in the guide (mapped) and without (unmapped).")
        writer.gauge(LabelSet([("state", "mapped")]), Double(mapped))
        writer.gauge(LabelSet([("state", "unmapped")]), Double(unmapped))
    }
}
