import SharecastCore
import SharecastHTTP
import SharecastStore

/// The configured users by their playlist secret. A secret from the configuration is used as it
/// is; a user without one gets a generated secret (192 bits) stored in the database, so the URL a
/// player saved keeps working. Secrets are never logged or shown by the API.
struct UserDirectory: Sendable {
    struct User: Sendable {
        var name: String
        var secret: String
        var maxStreams: Int?
        /// Empty: every group.
        var groups: Set<String>

        func sees(_ channel: CatalogChannel) -> Bool {
            groups.isEmpty || groups.contains(channel.group)
        }
    }

    private let bySecret: [String: User]

    var isEmpty: Bool { bySecret.isEmpty }

    init(_ users: [UserConfig], database: SharecastDatabase) throws(StoreError) {
        let generated = try database.userSecrets(for: users.filter { $0.secret == nil }.map(\.name), generate: StreamKey.generate)
        var table: [String: User] = [:]
        for user in users {
            guard let secret = user.secret?.value ?? generated[user.name] else { continue }
            table[secret] = User(name: user.name, secret: secret, maxStreams: user.maxStreams.flatMap { $0 > 0 ? $0 : nil }, groups: Set(user.groups))
        }
        bySecret = table
    }

    /// The user with this secret; the lookup is a seeded hash and the final check constant-time,
    /// so timing says nothing about how close a guess was.
    func user(secret: Substring) -> User? {
        guard UserConfig.isValidSecret(String(secret)), let user = bySecret[String(secret)],
              ConstantTime.equals(user.secret, String(secret)) else { return nil }
        return user
    }
}
