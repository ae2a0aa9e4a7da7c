/// Someone who may watch: a personal playlist (`/u/<secret>/playlist.m3u`) whose stream URLs
/// carry the user, so viewers, history and the API know who watches, with an optional limit and
/// the channel groups they see.
public struct UserConfig: Sendable, Equatable {
    /// Letters, digits, '_' and '-'.
    public var name: String
    /// At least 128 bits (22 characters of A-Z a-z 0-9 '-' '_'); generated and stored when absent.
    public var secret: Secret?
    /// Streams the user may watch at once (nil or 0: no limit).
    public var maxStreams: Int?
    /// The channel groups the user sees; empty: all of them.
    public var groups: [String]

    public init(name: String, secret: Secret? = nil, maxStreams: Int? = nil, groups: [String] = []) {
        self.name = name
        self.secret = secret
        self.maxStreams = maxStreams
        self.groups = groups
    }

    /// Whether `secret` is long and plain enough to be a user's URL secret.
    public static func isValidSecret(_ secret: String) -> Bool {
        (22...128).contains(secret.utf8.count) && secret.utf8.allSatisfy {
            ChannelID.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
    }
}
