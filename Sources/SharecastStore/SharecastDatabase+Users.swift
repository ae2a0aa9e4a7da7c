import Foundation
import GRDB

extension SharecastDatabase {
    /// The stored secret of each of `names`, made with `generate` for names that have none yet.
    /// Users that left the configuration keep theirs (they come back with the same URL).
    public func userSecrets(for names: [String], generate: () -> String, now: Date = Date()) throws(StoreError) -> [String: String] {
        try write("user secrets") { db in
            var result: [String: String] = [:]
            for name in names {
                if let stored = try String.fetchOne(db, sql: "SELECT secret FROM users WHERE name = ?", arguments: [name]) {
                    result[name] = stored
                } else {
                    let secret = generate()
                    try db.execute(sql: "INSERT INTO users (name, secret, created_at) VALUES (?, ?, ?)", arguments: [name, secret, now])
                    result[name] = secret
                }
            }
            return result
        }
    }

    /// Every stored user and secret (for `sharecast users`, run by the operator on the host).
    public func storedUsers() throws(StoreError) -> [(name: String, secret: String)] {
        try read("users") { db in
            try Row.fetchAll(db, sql: "SELECT name, secret FROM users ORDER BY name").map { ($0["name"], $0["secret"]) }
        }
    }
}
