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

    @Flag(name: .long, help: "Be a live HLS channel instead: /live.m3u8 with segments of the (padded) test pattern, cut at its keyframes (4 s each).")
    var hls = false

    @Option(name: .long, help: "Write the panel's XMLTV guide for --xtream-channels channels to this file (\"-\": standard output) and exit; for benchmarks.")
    var writeGuide: String?

    @Option(name: .long, help: "With --write-guide: days of programmes from yesterday.")
    var guideDays: Int = 8

    @Option(name: .long, help: "With --write-guide: minutes per programme.")
    var guideSlotMinutes: Int = 30

    @Option(name: .long, help: "With --write-guide: extra description characters per programme (to make a guide of a given size).")
    var guidePadding: Int = 0

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
            let channels = Self.panelChannels(count)
            if let writeGuide {
                try write(guideOf: channels, to: writeGuide)
                return
            }
            try serve(until: termination) {
                let panel = try XtreamOrigin(logins: logins, channels: channels, listen: listen, port: port, logger: logger)
                return ("xtream panel listening on http://\(listen):\(panel.port) with \(count) channels", panel.shutdown)
            }
            return
        }
        if hls {
            try serve(until: termination) {
                let origin = try HLSStandInOrigin(listen: listen, port: port, targetBitsPerSecond: bitrate, logger: logger)
                return ("hls origin listening on http://\(listen):\(origin.port)/live.m3u8", origin.shutdown)
            }
            return
        }
        try serve(until: termination) {
            let origin = try TestOrigin(listen: listen, port: port, targetBitsPerSecond: bitrate, paced: !unpaced, logger: logger)
            return ("origin listening on http://\(listen):\(origin.port)/stream.ts", origin.shutdown)
        }
    }

    /// Starts a stand-in (`start` returns the line to print and how to stop it), runs it until
    /// SIGINT or SIGTERM, and stops it; a stand-in that cannot start is exit status 1.
    private func serve(until termination: TerminationSignal, _ start: () throws -> (listening: String, stop: () -> Void)) throws {
        let started: (listening: String, stop: () -> Void)
        do {
            started = try start()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        printOutput(started.listening)
        termination.wait()
        started.stop()
    }

    /// The stand-in panel's channels: ids from 1000, eight categories, EPG ids `ch<N>.example`.
    static func panelChannels(_ count: Int) -> [XtreamOrigin.Channel] {
        let categories = ["News", "Sport", "Movies", "Kids", "Music", "Documentary", "日本", "Français"]
        return (0..<count).map { index in
            XtreamOrigin.Channel(id: 1000 + index, name: "Channel \(index + 1) \(categories[index % categories.count])",
                                 category: categories[index % categories.count], epgID: "ch\(index + 1).example")
        }
    }

    /// Streams the guide out a megabyte at a time, so a gigabyte guide never sits in memory.
    private func write(guideOf channels: [XtreamOrigin.Channel], to path: String) throws {
        guard (1...366).contains(guideDays), (1...1440).contains(guideSlotMinutes), (0...1_000_000).contains(guidePadding) else {
            printError("error: --guide-days needs 1 to 366, --guide-slot-minutes 1 to 1440, --guide-padding 0 to 1000000")
            throw ExitCode(2)
        }
        let output: FileHandle
        if path == "-" {
            output = FileHandle.standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                printError("error: cannot write \(path)")
                throw ExitCode(1)
            }
            output = handle
        }
        var generator = GuideGenerator(channels: channels.map { GuideGenerator.Channel(id: $0.epgID ?? "ch\($0.id)", name: $0.name) })
        generator.days = guideDays
        generator.slotMinutes = guideSlotMinutes
        generator.descriptionPadding = guidePadding
        var failure: (any Error)?
        generator.write { text in
            guard failure == nil else { return }
            do { try output.write(contentsOf: Data(text.utf8)) } catch { failure = error }
        }
        try output.close()
        if let failure {
            printError("error: writing \(path): \(failure)")
            throw ExitCode(1)
        }
    }
}
