import SharecastSync
import SharecastUpstream

/// The validators (`ETag`, `Last-Modified`) of each document whose version is in the catalog, by
/// provider and URL, so the next refresh can ask whether it changed. Kept in memory only: the
/// first refresh after a start reads everything (the URLs hold logins and are never stored).
final class RefreshValidators: Sendable {
    private let table = Locked<[String: HTTPValidators]>([:])

    func get(_ provider: String, _ url: String) -> HTTPValidators? {
        table.withLock { $0[provider + " " + url] }
    }

    /// Replaces everything known for `provider` with `documents` (URL to validators).
    func set(_ provider: String, _ documents: [String: HTTPValidators]) {
        table.withLock { table in
            table = table.filter { !$0.key.hasPrefix(provider + " ") }
            for (url, validators) in documents where !validators.isEmpty {
                table[provider + " " + url] = validators
            }
        }
    }
}
