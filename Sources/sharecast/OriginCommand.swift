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

    @Option(name: .long, help: "Be a stand-in Xtream Codes panel with this many live channels instead (player_api.php, /live/<user>/<pass>/<id>.ts, get.php, xmltv.php).")
    var xtreamChannels: Int?

    @Option(name: .long, help: "The panel's logins, as user:password:max_connections, comma-separated.")
    var xtreamLogins: String = "user:pass:1"

    func run() throws {
        var logger = Logger(label: "sharecast-origin")
        logger.logLevel = .info
        let termination = TerminationSignal()
        if let count = xtreamChannels {
            let logins = xtreamLogins.split(separator: ",").compactMap { text -> XtreamOrigin.Login? in
                let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
                guard parts.count == 3, let limit = Int(parts[2]), limit >= 0 else { return nil }
                return XtreamOrigin.Login(username: parts[0], password: parts[1], maxConnections: limit)
            }
            guard !logins.isEmpty, (1...1_000_000).contains(count) else {
                printError("error: --xtream-channels needs 1 to 1000000 and --xtream-logins user:password:max_connections")
                throw ExitCode(2)
            }
            let categories = ["News", "Sport", "Movies", "Kids", "Music", "Documentary", "日本", "Français"]
            let channels = (0..<count).map { index in
                XtreamOrigin.Channel(id: 1000 + index, name: "Channel \(index + 1) \(categories[index % categories.count])",
                                     category: categories[index % categories.count], epgID: "ch\(index + 1).example")
            }
            let panel: XtreamOrigin
            do {
                panel = try XtreamOrigin(logins: logins, channels: channels, listen: listen, port: port, logger: logger)
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            printOutput("xtream panel listening on http://\(listen):\(panel.port) with \(count) channels")
            termination.wait()
            panel.shutdown()
            return
        }
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
