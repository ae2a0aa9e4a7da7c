import GRDB

/// The schema, as named, append-only steps. A step that has shipped is never edited: change the
/// schema by adding a step, so every existing database reaches the same shape.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1-channels") { db in
            try db.create(table: "channels") { t in
                t.primaryKey("id", .text)
                t.column("stream_key", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("group_title", .text).notNull().defaults(to: "")
                t.column("logo", .text)
                t.column("tvg_id", .text)
                t.column("tvg_name", .text)
                t.column("urls", .jsonText).notNull()
                t.column("user_agent", .text)
                t.column("headers", .jsonText).notNull().defaults(to: "{}")
                t.column("source", .text).notNull()
                t.column("position", .integer).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
                t.column("removed_at", .datetime)
            }
            try db.create(index: "channels_on_source_position", on: "channels", columns: ["source", "position"])
        }

        migrator.registerMigration("v1-shared-streams") { db in
            try db.create(table: "shared_streams") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("channel_id", .text).notNull().references("channels", onDelete: .cascade)
                t.column("source_url", .text).notNull()
                t.column("format", .text).notNull().check { ["ts", "hls", "builtin"].contains($0) }
                t.column("status", .text).notNull()
                    .check { ["starting", "active", "idle", "error", "stopped"].contains($0) }
                t.column("health", .text).notNull().defaults(to: "unknown")
                    .check { ["unknown", "healthy", "degraded", "unhealthy"].contains($0) }
                t.column("started_at", .datetime).notNull()
                t.column("stopped_at", .datetime)
                t.column("updated_at", .datetime).notNull()
                t.column("client_count", .integer).notNull().defaults(to: 0).check { $0 >= 0 }
                t.column("peak_client_count", .integer).notNull().defaults(to: 0).check { $0 >= 0 }
                t.column("bytes_in", .integer).notNull().defaults(to: 0)
                t.column("bytes_out", .integer).notNull().defaults(to: 0)
                t.column("bandwidth_bps", .integer).notNull().defaults(to: 0)
                t.column("error_count", .integer).notNull().defaults(to: 0)
                t.column("restart_count", .integer).notNull().defaults(to: 0)
                t.column("last_error", .text)
            }
            try db.create(index: "shared_streams_on_channel_started", on: "shared_streams", columns: ["channel_id", "started_at"])
            try db.create(index: "shared_streams_on_status", on: "shared_streams", columns: ["status"])
            try db.create(index: "shared_streams_on_started", on: "shared_streams", columns: ["started_at"])
        }

        migrator.registerMigration("v1-shared-stream-clients") { db in
            try db.create(table: "shared_stream_clients") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("stream_id", .integer).notNull().references("shared_streams", onDelete: .cascade)
                t.column("client_id", .text).notNull().unique()
                t.column("ip", .text).notNull()
                t.column("user_agent", .text)
                t.column("connected_at", .datetime).notNull()
                t.column("last_activity_at", .datetime).notNull()
                t.column("disconnected_at", .datetime)
                t.column("bytes_sent", .integer).notNull().defaults(to: 0)
                t.column("disconnect_reason", .text)
                    .check { $0 == nil || ["closed", "lagging", "timeout", "stream_stopped", "kicked", "shutdown"].contains($0) }
            }
            try db.create(index: "shared_stream_clients_on_stream_connected", on: "shared_stream_clients", columns: ["stream_id", "connected_at"])
            try db.create(index: "shared_stream_clients_on_disconnected", on: "shared_stream_clients", columns: ["disconnected_at"])
        }

        migrator.registerMigration("v1-shared-stream-stats") { db in
            try db.create(table: "shared_stream_stats") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("stream_id", .integer).notNull().references("shared_streams", onDelete: .cascade)
                t.column("sampled_at", .datetime).notNull()
                t.column("client_count", .integer).notNull()
                t.column("bandwidth_bps", .integer).notNull()
                t.column("bytes_in", .integer).notNull()
                t.column("bytes_out", .integer).notNull()
                t.column("buffer_fill", .double).notNull().check { $0 >= 0 && $0 <= 1 }
                t.column("error_count", .integer).notNull()
            }
            try db.create(index: "shared_stream_stats_on_stream_sampled", on: "shared_stream_stats", columns: ["stream_id", "sampled_at"])
            try db.create(index: "shared_stream_stats_on_sampled", on: "shared_stream_stats", columns: ["sampled_at"])
        }

        // The session's UUID, so the monitor API names a stream the same way live and in history.
        migrator.registerMigration("v2-shared-streams-session-id") { db in
            try db.alter(table: "shared_streams") { t in t.add(column: "session_id", .text) }
            try db.create(index: "shared_streams_on_session_id", on: "shared_streams", columns: ["session_id"], unique: true)
        }

        // One spelling for ids: the API always showed them in lower case, the rows held upper case.
        migrator.registerMigration("v3-lowercase-ids") { db in
            try db.execute(sql: "UPDATE shared_streams SET session_id = lower(session_id) WHERE session_id IS NOT NULL")
            try db.execute(sql: "UPDATE shared_stream_clients SET client_id = lower(client_id)")
        }

        // Viewers closed because their address zapped to another channel of a full provider
        // (`zapped`), and the user a viewer watches as. SQLite cannot change a CHECK constraint,
        // so the table is rebuilt with its rows and indexes (foreign keys are checked at commit).
        migrator.registerMigration("v4-clients-zapped-and-user") { db in
            try db.create(table: "shared_stream_clients_v4") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("stream_id", .integer).notNull().references("shared_streams", onDelete: .cascade)
                t.column("client_id", .text).notNull().unique()
                t.column("ip", .text).notNull()
                t.column("user_agent", .text)
                t.column("connected_at", .datetime).notNull()
                t.column("last_activity_at", .datetime).notNull()
                t.column("disconnected_at", .datetime)
                t.column("bytes_sent", .integer).notNull().defaults(to: 0)
                t.column("disconnect_reason", .text)
                    .check { $0 == nil || ["closed", "lagging", "timeout", "stream_stopped", "kicked", "shutdown", "zapped"].contains($0) }
                t.column("user_name", .text)
            }
            try db.execute(sql: """
                INSERT INTO shared_stream_clients_v4 (id, stream_id, client_id, ip, user_agent, connected_at, last_activity_at,
                                                      disconnected_at, bytes_sent, disconnect_reason)
                SELECT id, stream_id, client_id, ip, user_agent, connected_at, last_activity_at, disconnected_at, bytes_sent,
                       disconnect_reason FROM shared_stream_clients
                """)
            try db.drop(table: "shared_stream_clients")
            try db.rename(table: "shared_stream_clients_v4", to: "shared_stream_clients")
            try db.create(index: "shared_stream_clients_on_stream_connected", on: "shared_stream_clients", columns: ["stream_id", "connected_at"])
            try db.create(index: "shared_stream_clients_on_disconnected", on: "shared_stream_clients", columns: ["disconnected_at"])
        }

        // The provider's channel number (tvg-chno, Xtream num), for players' channel lists and
        // the guide.
        migrator.registerMigration("v5-channel-number") { db in
            try db.alter(table: "channels") { t in t.add(column: "number", .integer) }
        }

        // Users' playlist secrets, generated once when the configuration gives none, so the
        // personal playlist URL a player saved keeps working across restarts.
        migrator.registerMigration("v6-users") { db in
            try db.create(table: "users") { t in
                t.primaryKey("name", .text)
                t.column("secret", .text).notNull().unique()
                t.column("created_at", .datetime).notNull()
            }
        }

        // Every channel gets a number that it keeps (`ChannelNumber`): rows are numbered in
        // catalog order, a number two rows share stays with the first, and the index makes
        // numbers unique from now on.
        migrator.registerMigration("v7-stable-channel-numbers") { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, number FROM channels ORDER BY removed_at IS NOT NULL, source <> 'config', source, position")
            // Written out here rather than calling today's assignment code, so this step stays
            // what it was when it shipped.
            var taken = Set<Int>()
            var assigned = [Int](repeating: 0, count: rows.count)
            var pending: [Int] = []
            for (index, row) in rows.enumerated() {
                if let number = row["number"] as Int?, (1...9_999_999).contains(number), taken.insert(number).inserted {
                    assigned[index] = number
                } else {
                    pending.append(index)
                }
            }
            var next = (taken.max() ?? 0) + 1
            for index in pending {
                while taken.contains(next) { next += 1 }
                assigned[index] = next
                taken.insert(next)
            }
            try db.execute(sql: "UPDATE channels SET number = NULL")
            for (row, number) in zip(rows, assigned) {
                try db.execute(sql: "UPDATE channels SET number = ? WHERE id = ?", arguments: [number, row["id"] as String])
            }
            try db.create(index: "channels_on_number", on: "channels", columns: ["number"], unique: true)
        }

        // Identities generated once and kept (HDHomeRun device ids and device auth).
        migrator.registerMigration("v8-identities") { db in
            try db.create(table: "identities") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
                t.column("created_at", .datetime).notNull()
            }
        }

        // The guide: each source's programmes, by generation (an import writes a new one and
        // switches to it when it succeeded), indexed for serving by channel and time.
        migrator.registerMigration("v9-guide") { db in
            try db.create(table: "guide_programmes") { t in
                t.column("source", .text).notNull()
                t.column("generation", .integer).notNull()
                t.column("channel", .text).notNull()
                t.column("start", .integer).notNull()
                t.column("stop", .integer)
                t.column("title", .text).notNull()
                t.column("body", .text).notNull()
            }
            try db.create(index: "guide_programmes_on_source_channel_start", on: "guide_programmes", columns: ["source", "channel", "start"])
            try db.create(index: "guide_programmes_on_source_generation", on: "guide_programmes", columns: ["source", "generation"])
            try db.create(table: "guide_sources") { t in
                t.primaryKey("name", .text)
                t.column("generation", .integer).notNull()
                t.column("imported_at", .datetime).notNull()
                t.column("programmes", .integer).notNull()
                t.column("channels_mapped", .integer).notNull()
                t.column("channels_unmapped", .integer).notNull()
            }
        }

        return migrator
    }
}
