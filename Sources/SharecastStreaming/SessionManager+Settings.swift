import SharecastCore
import SharecastTS
import SharecastUpstream

extension SessionManager {
    public struct Settings: Sendable {
        public var maxSessions = 100
        public var gracePeriod: Duration = .seconds(10)
        public var clientTimeoutSeconds = 300
        public var bufferSize = 8 * 1024 * 1024
        /// Where file-backed rings live; nil for anonymous memory.
        public var bufferDirectory: String?
        public var lagPolicy = LagPolicy.disconnect
        /// Seconds back from live a joining viewer starts (at a keyframe), `join_backlog`.
        public var joinBacklogSeconds = 5
        public var reconnect = ReconnectPolicy()
        public var defaultUserAgent: String?
        /// HLS variant cap in bits per second (nil: the highest variant).
        public var hlsMaxBandwidth: Int?
        /// The built-in test channel's clip (nil: `builtin:testpattern` channels are unavailable).
        public var testClip: TSClip?
        /// Pad the test pattern to this rate (benchmarks).
        public var testPatternBitsPerSecond: Int64?
        /// How often each running session gets a `shared_stream_stats` row.
        public var statsInterval: Duration = .seconds(10)
        /// How long a new viewer's answer waits for the upstream's first bytes.
        public var firstByteTimeout: Duration = .seconds(15)
        /// Per provider (a channel's `source`): may the only viewer's address hand its slot over?
        public var zapTakeover: Set<String> = []
        /// How long a request for a channel of a full provider waits for a slot.
        public var zapWait: Duration = .seconds(5)
        /// How long a login the provider refused rests before it is tried again.
        public var refusalRest: Duration = .seconds(60)

        public init() {}

        public init(config: SharedStreamingConfig) {
            maxSessions = config.maxConcurrentStreams
            gracePeriod = .seconds(config.gracePeriod)
            clientTimeoutSeconds = config.clientTimeout
            bufferSize = config.bufferSize
            bufferDirectory = config.bufferPath.isEmpty ? nil : config.bufferPath
            lagPolicy = config.lagPolicy
            joinBacklogSeconds = config.joinBacklog
            reconnect.maxAttempts = config.upstream.maxAttempts
            reconnect.connectTimeoutSeconds = config.upstream.connectTimeout
            reconnect.stallTimeoutSeconds = config.upstream.stallTimeout
            reconnect.initialBackoff = .milliseconds(config.upstream.backoffInitialMs)
            reconnect.maxBackoff = .milliseconds(config.upstream.backoffMaxMs)
            defaultUserAgent = config.upstream.userAgent.isEmpty ? nil : config.upstream.userAgent
            hlsMaxBandwidth = config.upstream.hlsMaxBandwidth > 0 ? config.upstream.hlsMaxBandwidth : nil
            testClip = TSClip.testPattern
            statsInterval = .seconds(config.monitoring.statsInterval)
            firstByteTimeout = .seconds(config.upstream.firstByteTimeout)
            zapWait = .seconds(config.zapWait)
        }
    }

    /// Why a viewer could not be attached.
    public enum AttachError: Error, Equatable, Sendable {
        /// `max_concurrent_streams` sessions are running and none is idle.
        case atCapacity(limit: Int)
        /// The ring could not be allocated or the channel has no usable URL.
        case unavailable(String)
        /// Every slot of every login of the channel's provider is in use.
        case providerFull(provider: String)
        /// No login of the channel's provider can be used (the panel says expired, banned, refused).
        case providerUnusable(provider: String)
    }
}
