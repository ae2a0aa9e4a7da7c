import Foundation
import Logging
import SharecastCore
import SharecastHDHomeRun
import SharecastHTTP
import SharecastMetrics
import SharecastMonitor
import SharecastStore
import SharecastStreaming
import SharecastUpstream
import SharecastTS
import Synchronization
import SharecastSync

/// Why the server could not start.
public enum ApplicationError: Error, CustomStringConvertible {
    case store(StoreError)
    case server(HTTPServerError)
    case upstream(String)

    public var description: String {
        switch self {
        case let .store(error): error.description
        case let .server(error): error.description
        case let .upstream(reason): reason
        }
    }
}

struct CleanupFailed: Error, CustomStringConvertible {
    var description: String { "the cleanup job failed; see the server log" }
}

/// A running Sharecast: database, catalog, HTTP server and background work, assembled from a
/// configuration. The executable is a thin shell around this so tests can run the real thing
/// in-process.
public final class Application: Sendable {
    public let config: SharecastConfig
    public let database: SharecastDatabase
    public let catalog: ChannelCatalog
    public let sessions: SessionManager
    let metrics: ServerMetrics
    let server: HTTPServer
    let loop: UpstreamLoop
    let jobs: JobScheduler
    let alerting: AlertingService?
    let logger: Logger
    /// Each provider's logins and the streams they hold.
    public let slots: ProviderSlots
    public let providerStatus: ProviderStatusBoard
    let refresher: ProviderRefreshService
    /// The HDHomeRun tuner (`hdhomerun.enabled`) and its UDP discovery responder.
    let tuner: HDHomeRunTuner?
    /// The guide (`epg_sources`), when there is one.
    let guide: GuideService?
    let discovery: DiscoveryResponder?
    /// Every background service, in start order; `shutdown()` stops them in reverse.
    private let lifecycle: Lifecycle

    /// Provider and playlist refreshes finished (successfully or not) since start; lets tests and
    /// health checks wait.
    public var completedImports: Int { refresher.completed.withLock { $0 } }

    /// Guide imports finished (successfully or not) since start.
    public var completedGuideImports: Int { guide?.completed.withLock { $0 } ?? 0 }

    /// Asks for a re-import of the named guide soon; false when there is none.
    @discardableResult
    public func refreshGuide(_ name: String) -> Bool { guide?.request(name) ?? false }

    /// The bound HTTP port.
    public var port: Int { server.port }

    /// The bound HDHomeRun discovery port (UDP), when discovery runs.
    public var discoveryPort: Int? { discovery?.port }

    /// The HDHomeRun device ids: the whole catalog's first, then each lineup's.
    public var hdhomerunDeviceIDs: [String] { tuner?.devices.map(\.id.hex) ?? [] }

    public init(config: SharecastConfig, logger: Logger) throws(ApplicationError) {
        self.config = config
        self.logger = logger
        do {
            database = try SharecastDatabase(path: config.database.path)
        } catch {
            throw .store(error)
        }
        let providers = config.allProviders
        catalog = ChannelCatalog(sourceOrder: [CatalogChannel.configSource] + providers.map(\.name))
        do {
            try Self.syncConfiguredSources(config, database: database, logger: logger)
            try catalog.reload(from: database)
            // No session runs yet: rows still open were left by a process that died (kill -9, a
            // crash, power loss). Close them now rather than at the first cleanup run.
            let stale = try database.markStreamsStopped(exceptSessions: [])
            if stale > 0 { logger.info("streams left open by a previous run marked stopped", metadata: ["streams": "\(stale)"]) }
        } catch {
            throw .store(error)
        }

        guard let loop = UpstreamLoop(logger: logger) else { throw .upstream("libcurl could not be initialised") }
        self.loop = loop
        let metrics = ServerMetrics(config: config)
        self.metrics = metrics
        let dbWrites = metrics.dbWriteDuration
        // Providers of `providers:` count their logins' slots; `playlists:` have no limits.
        slots = ProviderSlots(providers: Dictionary(providers.filter { !$0.fromPlaylists }.map { provider in
            (provider.name, provider.accounts.enumerated().map { index, account in
                ProviderSlots.Account(label: account.label(index: index), limit: account.maxStreams.flatMap { $0 > 0 ? $0 : nil })
            })
        }, uniquingKeysWith: { first, _ in first }))
        providerStatus = ProviderStatusBoard(providers)
        metrics.streaming.prepareProviders(providers.filter { !$0.fromPlaylists }.map(\.name))
        var sessionSettings = SessionManager.Settings(config: config.sharedStreaming)
        sessionSettings.zapTakeover = Set(providers.filter(\.zapTakeover).map(\.name))
        sessions = SessionManager(
            settings: sessionSettings, loop: loop,
            recorder: StreamHistoryRecorder(database: database, logger: logger, onWrite: { dbWrites.observe($0) }),
            metrics: metrics.streaming, slots: slots, resolver: ProviderURLResolver(catalog: catalog, providers: providers), logger: logger
        )
        refresher = ProviderRefreshService(providers: providers, database: database, catalog: catalog, slots: slots,
                                           board: providerStatus, logger: logger)
        let guideDirectory = (config.database.path as NSString).deletingLastPathComponent
        let guideSources = config.guideSources
        let statusBoard = providerStatus
        let locate: @Sendable (GuideSourceConfig) -> GuideImporter.Locations = { source in
            GuideLocator.locations(of: source, providers: providers, board: statusBoard)
        }
        guide = guideSources.isEmpty ? nil
            : GuideService(sources: guideSources, settings: config.epg, database: database, catalog: catalog,
                           workDirectory: guideDirectory.isEmpty ? "." : guideDirectory,
                           catalogReady: { [refresher] in refresher.completed.withLock { $0 } >= providers.count },
                           locate: locate, logger: logger)
        if let guide {
            refresher.channelsAdded.withLock { $0 = { [weak guide] in guide?.requestAll() } }
            metrics.registry.addCollector { [weak guide] writer in guide?.writeMetrics(into: &writer) }
        }
        // Playlists name the guide once one of its sources has a location (an M3U provider's
        // guide is known only from its playlist).
        let hasGuide: @Sendable () -> Bool = { guideSources.contains { !locate($0).locations.isEmpty } }
        metrics.attach(catalog: catalog, database: database, bufferPath: config.sharedStreaming.bufferPath)
        let board = providerStatus, slotTable = slots
        metrics.registry.addCollector { writer in ProviderMetrics.write(into: &writer, board: board, slots: slotTable) }
        // Viewers per user, as counts only (no per-viewer labels); users are few and configured.
        let userNames = config.users.map(\.name)
        if !userNames.isEmpty {
            let sessions = self.sessions
            metrics.registry.addCollector { writer in
                writer.family("sharecast_user_viewers", .gauge, help: "Viewers watching through each user's personal playlist.")
                for name in userNames { writer.gauge(LabelSet([("user", name)]), Double(sessions.viewerCount(user: name))) }
            }
        }

        let sessions = self.sessions, database = self.database, catalog = self.catalog
        let bufferPath = config.sharedStreaming.bufferPath
        let health: @Sendable () -> HealthStatus = {
            HealthEvaluator(database: database, bufferPath: bufferPath)
                .evaluate(streams: sessions.snapshots(withClients: false), host: .current(bufferPath: bufferPath, databasePath: database.path)).status
        }
        let cleanupLog = CleanupLog()
        jobs = JobScheduler(jobs: ServerJobs.make(config: config, sessions: sessions, database: database, cleanupLog: cleanupLog, health: health),
                            registry: metrics.registry, logger: logger)
        let jobs = self.jobs
        let generatorURL = config.server.publicBaseURL.isEmpty
            ? "http://\(Self.displayHost(config.server.listen)):\(config.server.port)/api/v1/alerts" : config.server.publicBaseURL + "/api/v1/alerts"
        let alerting = config.alerting.enabled
            ? AlertingService(config: config.alerting, registry: metrics.registry, generatorURL: generatorURL, logger: logger) : nil
        self.alerting = alerting
        alerting?.reload()
        var monitorContext = MonitorContext(
            sessions: sessions, database: database, bufferPath: bufferPath,
            channelName: { id in catalog.channel(id: id)?.channel.name },
            cleanup: {
                guard case .success = jobs.runNow(ServerJobs.cleanup), let report = cleanupLog.last.withLock({ $0 }) else {
                    throw CleanupFailed()
                }
                return report
            },
            alerts: { alerting?.monitorAlerts() ?? [] },
            probe: StreamProbe(allowPrivate: config.security.probePrivateNetworks)
        )
        let slots = self.slots, refresher = self.refresher
        monitorContext.providers = { ProviderViews.make(board: board, slots: slots) }
        monitorContext.refreshProvider = { refresher.request($0) }
        if let guide {
            monitorContext.nowNext = { [weak guide] in guide?.nowNext(channelID: $0) }
            monitorContext.guideSources = { [weak guide] in guide?.views() ?? [] }
            monitorContext.refreshGuide = { [weak guide] in guide?.request($0) ?? false }
        }
        let monitor = MonitorAPI(context: monitorContext)

        let users: UserDirectory
        do {
            users = try UserDirectory(config.users, database: database)
            tuner = config.hdhomerun.enabled ? try HDHomeRunTuner(config: config, database: database, catalog: catalog, sessions: sessions) : nil
        } catch {
            sessions.shutdown()
            loop.shutdown()
            throw .store(error)
        }
        let gate = SecurityGate(config.security)
        var router = Router()
        if config.security.anonymousPlaylist {
            router.get("/playlist.m3u", name: "playlist", gate.playlist(PlaylistRoute.handler(catalog: catalog, publicBaseURL: config.server.publicBaseURL, guide: hasGuide)))
            router.get("/stream/:key", name: "stream", gate.stream(StreamRoute.handler(catalog: catalog, sessions: sessions)))
        }
        if !users.isEmpty {
            // Through the stream gate: a wrong secret is a 404 that counts against bad keys.
            router.get("/u/:secret/playlist.m3u", name: "user_playlist",
                       gate.stream(PlaylistRoute.userHandler(catalog: catalog, publicBaseURL: config.server.publicBaseURL, users: users, guide: hasGuide)))
            router.get("/u/:secret/stream/:key", name: "user_stream", gate.stream(StreamRoute.userHandler(catalog: catalog, sessions: sessions, users: users)))
        }
        tuner?.install(into: &router, gate: gate)
        if let guide {
            let names = guide.sources.map(\.name)
            let cache: GuideDocumentCache?
            do {
                cache = try GuideDocumentCache(directory: "\(guide.workDirectory)/guide-cache")
            } catch {
                logger.warning("the guide is rendered at every request: its cache directory cannot be made", metadata: ["error": "\(error)"])
                cache = nil
            }
            for gzip in [false, true] {
                router.get(gzip ? "/epg.xml.gz" : "/epg.xml", name: gzip ? "epg_gz" : "epg",
                           gate.playlist(GuideRoute.handler(catalog: catalog, database: database, sources: names, settings: config.epg,
                                                            cache: cache, gzip: gzip)))
            }
        }
        router.get("/healthz", name: "healthz") { _ in .text("ok\n") }
        router.get("/metrics", name: "metrics", gate.metrics(MetricsRoute.handler(registry: metrics.registry)))
        for route in monitor.routes {
            router.add(route.method, route.pattern, name: route.name, gate.api(route.access, route.handler))
        }
        router.get("/api/v1/rules", name: "api_v1_rules", gate.api(.read) { _ in alerting?.rulesResponse() ?? AlertingService.json(["status": "success", "data": ["groups": []]]) })
        router.get("/api/v1/alerts", name: "api_v1_alerts", gate.api(.read) { _ in alerting?.alertsResponse() ?? AlertingService.json(["status": "success", "data": ["alerts": []]]) })
        router.add("POST", "/-/reload", name: "reload", gate.api(.write) { _ in
            alerting?.reloadResponse() ?? .text("alerting is disabled; nothing to reload\n")
        })

        var serverConfiguration = HTTPServer.Configuration(listen: config.server.listen, port: config.server.port)
        serverConfiguration.maxRequestBodyBytes = config.security.maxBodyBytes
        serverConfiguration.connectionTimeout = config.server.idleTimeout
        serverConfiguration.streamTimeout = config.sharedStreaming.clientTimeout
        serverConfiguration.directStreams = config.sharedStreaming.directDelivery
        serverConfiguration.maxConnectionsPerAddress = config.server.maxConnectionsPerAddress
        serverConfiguration.exemptFromAddressCap = (["127.0.0.0/8", "::1"] + config.security.trustedProxies).compactMap(CIDR.init)
        serverConfiguration.observer = { route, status, seconds in metrics.observeRequest(route: route, status: status, seconds: seconds) }
        do {
            server = try HTTPServer(configuration: serverConfiguration, router: router, logger: logger)
        } catch {
            sessions.shutdown()
            loop.shutdown()
            throw .server(error)
        }
        logger.info("listening", metadata: [
            "address": "\(config.server.listen)", "port": "\(server.port)",
            "url": "http://\(Self.displayHost(config.server.listen)):\(server.port)/playlist.m3u",
            "channels": "\(catalog.current.channels.count)",
        ])
        discovery = tuner?.makeDiscovery(httpPort: server.port, logger: logger)
        if let discovery = self.discovery {
            metrics.registry.addCollector { writer in
                let counts = discovery.figures
                writer.family("sharecast_hdhomerun_discovery_packets", .counter,
                              help: "HDHomeRun discovery datagrams received: answered, ignored (for another device or type) and malformed (dropped).")
                for (result, value) in [("answered", counts.answered), ("ignored", counts.ignored), ("malformed", counts.malformed)] {
                    writer.counter(LabelSet([("result", result)]), Double(value))
                }
            }
        }
        let server = self.server, upstreamLoop = self.loop, discovery = self.discovery
        // The one place the order is written. Started top to bottom; stopped bottom to top:
        // imports end, the listener stops accepting, alert rules and jobs stop, every stream
        // ends (its viewers leave with reason `shutdown`, recorded), the HTTP server closes the
        // rest, the upstream loop stops, and the database is checkpointed and closed.
        lifecycle = Lifecycle(services: [
            ClosureService("database", stop: { [database, logger] in
                do {
                    try database.close()
                } catch {
                    logger.error("database close failed", metadata: ["error": "\(error)"])
                }
            }),
            ClosureService("upstream-loop", stop: { upstreamLoop.shutdown() }),
            ClosureService("http-server", stop: { server.shutdown() }),
            ClosureService("sessions", stop: { sessions.shutdown() }),
            ClosureService("jobs", start: { jobs.start() }, stop: { jobs.stop() }),
            ClosureService("alerting", start: { alerting?.start() }, stop: { alerting?.stop() }),
            ClosureService("listener", stop: { server.stopAccepting() }),
            ClosureService("provider-refresh", start: { [refresher] in refresher.start() }, stop: { [refresher] in refresher.stop() }),
            ClosureService("guide", start: { [guide] in guide?.start() }, stop: { [guide] in guide?.stop() }),
            ClosureService("hdhomerun-discovery", start: { discovery?.start() }, stop: { discovery?.stop() }),
        ], logger: logger)
        lifecycle.start()
    }

    /// Asks for a refresh of the named provider (or playlist) soon; false when there is none.
    @discardableResult
    public func refreshProvider(_ name: String) -> Bool {
        refresher.request(name)
    }

    /// The background services and whether they run, in start order.
    public var services: [(name: String, state: Lifecycle.State)] { lifecycle.report }

    /// Re-reads the alert rule files (SIGHUP, `POST /-/reload`); invalid files leave the running
    /// rules in place. Returns the problems, empty when the new rules are in use.
    @discardableResult
    public func reloadRules() -> [String] {
        alerting?.reload() ?? []
    }

    /// Inline channels replace the `config` source; sources that left the configuration are emptied
    /// (their channels marked removed, keys kept).
    static func syncConfiguredSources(_ config: SharecastConfig, database: SharecastDatabase, logger: Logger) throws(StoreError) {
        let summary = try database.syncChannels(CatalogChannel.fromConfig(config.channels), source: CatalogChannel.configSource)
        for id in summary.conflicts {
            logger.warning("channel id already used by a playlist; inline channel ignored", metadata: ["channel": "\(id)"])
        }
        let configured = Set([CatalogChannel.configSource] + config.allProviders.map(\.name))
        let stored = Set(try database.activeChannels().map(\.channel.source))
        for source in stored.subtracting(configured) {
            let removed = try database.syncChannels([], source: source)
            logger.info("playlist no longer configured; its channels are hidden", metadata: ["playlist": "\(source)", "channels": "\(removed.removed)"])
        }
    }

    /// Stops accepting, ends every stream (viewers leave with reason `shutdown`, which is recorded),
    /// stops the upstreams, and closes the database (checkpointing its WAL).
    public func shutdown() {
        lifecycle.shutdown()
        logger.info("stopped")
    }

    static func displayHost(_ listen: String) -> String {
        switch listen {
        case "0.0.0.0", "::": "localhost"
        case _ where listen.contains(":"): "[\(listen)]"
        default: listen
        }
    }
}
