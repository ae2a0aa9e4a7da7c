/// One problem found in the configuration, with the place it came from.
///
/// `location` is `file:line:column` for the config file, the variable's name for the environment and
/// the flag for the command line, so every message says where to go and fix it.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var location: String
    public var key: String
    public var message: String

    public init(location: String, key: String, message: String) {
        self.location = location
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

/// Why a configuration could not be loaded. Loading reports every issue it finds, not just the first.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalid([ConfigIssue])

    public var issues: [ConfigIssue] {
        switch self {
        case let .unreadable(path, reason): [ConfigIssue(location: path, key: "", message: "cannot read: \(reason)")]
        case let .invalid(issues): issues
        }
    }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
