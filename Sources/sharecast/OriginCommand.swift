import ArgumentParser
import Dispatch
import Foundation
import Logging
import SharecastApp

struct OriginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "origin",
        abstract: "Run a stand-in provider that plays the test pattern on every GET and counts connections (GET /stats).",
        discussion: "Used by tests and benchmarks as the upstream. Every request is a separate, independently paced connection."
    )

    @Option(name: .long, help: "Port to listen on (0 picks a free one; it is printed).")
    var port: Int = 8090

    @Option(name: .long, help: "Address to listen on.")
    var listen: String = "127.0.0.1"

    @Option(name: .long, help: "Pad the stream with null packets up to this many bits per second (e.g. 8000000).")
    var bitrate: Int64?

    @Flag(name: .long, help: "Send as fast as the client reads instead of at the clip's rate.")
    var unpaced = false

    func run() throws {
        var logger = Logger(label: "sharecast-origin")
        logger.logLevel = .info
        let termination = TerminationSignal()
        let origin: TestOrigin
        do {
            origin = try TestOrigin(listen: listen, port: port, targetBitsPerSecond: bitrate, paced: !unpaced, logger: logger)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        printOutput("origin listening on http://\(listen):\(origin.port)/stream.ts")
        termination.wait()
        origin.shutdown()
    }
}
