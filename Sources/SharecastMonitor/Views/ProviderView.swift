import Foundation

/// A provider in `GET /api/monitor/providers`: its logins with their slots and state, and its
/// last refresh. No password, no URL with a login.
public struct ProviderView: Encodable, Sendable, Equatable {
    public struct Account: Encodable, Sendable, Equatable {
        public var name: String
        /// `active`, `expired`, `banned`, `disabled`, `refused`, `unknown` or `unchecked`.
        public var status: String
        public var message: String?
        public var expiresAt: Date?
        /// nil: no limit.
        public var maxStreams: Int?
        public var streamsInUse: Int
        /// Refused by the provider and not tried again until then.
        public var restingUntil: Date?

        public init(name: String, status: String, message: String?, expiresAt: Date?, maxStreams: Int?, streamsInUse: Int, restingUntil: Date?) {
            self.name = name
            self.status = status
            self.message = message
            self.expiresAt = expiresAt
            self.maxStreams = maxStreams
            self.streamsInUse = streamsInUse
            self.restingUntil = restingUntil
        }
    }

    public var name: String
    public var type: String
    public var channels: Int?
    public var accounts: [Account]
    public var lastRefreshAt: Date?
    /// Refreshes finished since start (successful or not).
    public var refreshes: Int
    public var lastSuccessAt: Date?
    /// The last successful refresh that found the list changed; later successes were 304s.
    public var lastChangeAt: Date?
    public var lastError: String?

    public init(name: String, type: String, channels: Int?, accounts: [Account], lastRefreshAt: Date?, refreshes: Int = 0, lastSuccessAt: Date?,
                lastChangeAt: Date? = nil, lastError: String?) {
        self.name = name
        self.type = type
        self.channels = channels
        self.accounts = accounts
        self.lastRefreshAt = lastRefreshAt
        self.refreshes = refreshes
        self.lastSuccessAt = lastSuccessAt
        self.lastChangeAt = lastChangeAt
        self.lastError = lastError
    }
}

/// The answer of `POST /api/monitor/providers/{name}/refresh`.
struct ProviderAction: Encodable {
    var provider: String
    var action: String
}
