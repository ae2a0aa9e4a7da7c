import Foundation
import GRDB
import Synchronization
import SharecastSync

/// The one database of a Sharecast process: a GRDB `DatabasePool` in WAL mode over a SQLite file.
///
/// WAL lets the monitor API read while the batched writer writes, and keeps the file consistent when
/// the process is killed mid-write: a transaction is either in the file after a restart or not at all.
public final class SharecastDatabase: Sendable {
    public let path: String
    public let pool: DatabasePool
    private let isClosed = Locked(false)

    /// Opens (creating the file and its directory when missing) and migrates to the current schema.
    public init(path: String) throws(StoreError) {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .cannotOpen(path: path, reason: "cannot create directory \(directory): \(error.localizedDescription)")
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // NORMAL is durable against process crashes in WAL mode (only power loss can drop the
            // last transactions), and avoids an fsync per commit.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw .cannotOpen(path: path, reason: Self.describe(error))
        }
        do {
            try Migrations.migrator.migrate(pool)
        } catch {
            throw .migrationFailed(path: path, reason: Self.describe(error))
        }
    }

    /// The names of the migrations applied to the file, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try read("list migrations") { db in try Migrations.migrator.appliedMigrations(db) }
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound file.
    public func integrityCheck() throws(StoreError) -> [String] {
        try read("integrity check") { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Checkpoints the WAL into the main file and closes every connection. Further use throws;
    /// closing again does nothing.
    public func close() throws(StoreError) {
        guard !isClosed.withLock({ closed in defer { closed = true }; return closed }) else { return }
        do {
            try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try pool.close()
        } catch {
            throw .queryFailed(operation: "close", reason: Self.describe(error))
        }
    }

    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw .queryFailed(operation: operation, reason: Self.describe(error))
        }
    }

    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.write(body)
        } catch {
            throw .queryFailed(operation: operation, reason: Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "\(error.resultCode)"
        }
        return "\(error)"
    }
}
