import Foundation
import GRDB

extension SharecastDatabase {
    /// The stored value of each of `keys`, made with `generate(key)` for keys that have none yet:
    /// identities that must outlive restarts and configuration changes (an HDHomeRun device id is
    /// what a media server keys its tuner and guide mapping on).
    public func identities(for keys: [String], generate: (String) -> String, now: Date = Date()) throws(StoreError) -> [String: String] {
        try write("identities") { db in
            var result: [String: String] = [:]
            for key in keys {
                if let stored = try String.fetchOne(db, sql: "SELECT value FROM identities WHERE key = ?", arguments: [key]) {
                    result[key] = stored
                } else {
                    let value = generate(key)
                    try db.execute(sql: "INSERT INTO identities (key, value, created_at) VALUES (?, ?, ?)", arguments: [key, value, now])
                    result[key] = value
                }
            }
            return result
        }
    }
}
