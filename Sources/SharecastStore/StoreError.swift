/// Why the database could not be used. Each case names the file, so the message can be acted on.
public enum StoreError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case migrationFailed(path: String, reason: String)
    case queryFailed(operation: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open database \(path): \(reason)"
        case let .migrationFailed(path, reason): "cannot migrate database \(path): \(reason)"
        case let .queryFailed(operation, reason): "database \(operation) failed: \(reason)"
        }
    }
}
