import ArgumentParser
import Dispatch
import Foundation
import SharecastApp
import SharecastCore

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server until SIGINT or SIGTERM."
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "Port to listen on (overrides server.port; 0 picks a free one).")
    var port: Int?

    @Option(name: .long, help: "Address to listen on (overrides server.listen).")
    var listen: String?

    func run() throws {
        var overrides: [ConfigOverride] = []
        if let port { overrides.append(ConfigOverride(key: "server.port", value: String(port), origin: "--port")) }
        if let listen { overrides.append(ConfigOverride(key: "server.listen", value: listen, origin: "--listen")) }
        let loaded = try options.load(extra: overrides)
        let logger = try options.makeLogger()
        for warning in loaded.warnings { logger.warning("\(warning)") }
        logger.info("configuration loaded", metadata: ["source": "\(loaded.source)"])
        let termination = TerminationSignal()
        let application: Application
        do {
            application = try Application(config: loaded.config, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        // SIGHUP re-reads the alert rules, keeping the running ones when the new files are bad.
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { application.reloadRules() }
        hangup.resume()
        termination.wait()
        hangup.cancel()
        logger.info("shutting down")
        application.shutdown()
    }
}
