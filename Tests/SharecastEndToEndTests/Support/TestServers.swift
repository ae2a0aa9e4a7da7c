import Logging
import SharecastApp
import SharecastCore

extension SharecastConfig {
    /// A server for one test: a free loopback port, its database and ring buffers in `directory`.
    static func forTest(in directory: TemporaryDirectory) -> SharecastConfig {
        var config = SharecastConfig()
        config.server.listen = "127.0.0.1"
        config.server.port = 0
        config.database.path = directory.file("db.sqlite")
        config.sharedStreaming.bufferPath = directory.file("buffers")
        return config
    }
}

extension XtreamOrigin {
    /// A stand-in panel on a free loopback port that logs only what is critical.
    static func quiet(logins: [Login], channels: [Channel]) throws -> XtreamOrigin {
        var logger = Logger(label: "panel")
        logger.logLevel = .critical
        return try XtreamOrigin(logins: logins, channels: channels, logger: logger)
    }
}
