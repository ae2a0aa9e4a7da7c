import ArgumentParser
import Dispatch
import Foundation
import Logging
import SharecastCore

/// Options every command that reads the configuration shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $SHARECAST_CONFIG, ./sharecast.yaml, /etc/sharecast/sharecast.yaml, else the embedded default).")
    var config: String?

    @Option(name: .long, help: "SQLite database file (overrides database.path).")
    var database: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: $SHARECAST_LOG_LEVEL or info).")
    var logLevel: String?

    /// The file to load: the flag, then $SHARECAST_CONFIG, then the usual places; nil = embedded default.
    func configPath(environment: [String: String]) -> String? {
        if let config { return config }
        if let fromEnvironment = environment["SHARECAST_CONFIG"], !fromEnvironment.isEmpty { return fromEnvironment }
        for candidate in ["sharecast.yaml", "/etc/sharecast/sharecast.yaml"] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        return nil
    }

    /// Loads the layered configuration, or prints every issue and exits with status 2.
    func load(extra overrides: [ConfigOverride] = []) throws -> LoadedConfig {
        let environment = ProcessInfo.processInfo.environment
        var all = overrides
        if let database { all.append(ConfigOverride(key: "database.path", value: database, origin: "--database")) }
        do {
            return try ConfigLoader.load(path: configPath(environment: environment), environment: environment, overrides: all)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }

    /// Sets up swift-log once for the process, writing to standard error.
    func makeLogger(label: String = "sharecast") throws -> Logger {
        let name = logLevel ?? ProcessInfo.processInfo.environment["SHARECAST_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            printError("--log-level: expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\"")
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// SIGINT and SIGTERM, taken by dispatch sources rather than a handler, so that what follows
/// (shutdown) runs as ordinary code. Create it before starting anything, so a signal that arrives
/// during start-up is held rather than killing the process.
final class TerminationSignal {
    private let stop = DispatchSemaphore(value: 0)
    private var sources: [any DispatchSourceSignal] = []

    init() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let stop = self.stop
        sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
    }

    func wait() {
        stop.wait()
    }

    deinit {
        sources.forEach { $0.cancel() }
    }
}

func printOutput(_ message: String) {
    FileHandle.standardOutput.write(Data((message + "\n").utf8))
}
