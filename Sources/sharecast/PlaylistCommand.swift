import ArgumentParser
import Foundation
import SharecastApp
import SharecastCore
import SharecastStore

struct PlaylistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "playlist",
        abstract: "Work with provider playlists.",
        subcommands: [Import.self]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an M3U playlist (file or http(s) URL) into the channel catalog.",
            discussion: "Broken entries are skipped with a warning naming file:line. Channel ids and stream keys stay the same across re-imports."
        )

        @Argument(help: "A local M3U file or an http(s) URL.")
        var source: String

        @Option(name: .long, help: "The playlist's name (channel ids start with it). Default: the configured playlist with this source, else the file name.")
        var name: String?

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let loaded = try options.load()
            let logger = try options.makeLogger()
            let playlistName = name
                ?? loaded.config.playlists.first { $0.source == source }?.name
                ?? ChannelID.slug(URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent)
            guard ChannelID.isValid(playlistName) else {
                printError("--name: expected letters, digits, '.', '_' or '-', got \"\(playlistName)\"")
                throw ExitCode(2)
            }
            let userAgent = loaded.config.playlists.first { $0.source == source }?.userAgent
            do {
                let database = try SharecastDatabase(path: loaded.config.database.path)
                let report = try PlaylistImporter().importPlaylist(
                    PlaylistSource(name: playlistName, source: source, userAgent: userAgent), into: database
                )
                try database.close()
                for warning in report.warnings { printError("warning: \(warning)") }
                print("imported \(report.entries) entries into playlist \"\(playlistName)\": \(report.summary.added) added, "
                    + "\(report.summary.updated) updated, \(report.summary.unchanged) unchanged, \(report.summary.removed) removed, "
                    + "\(report.warnings.count) warnings")
                for conflict in report.summary.conflicts { printError("warning: channel id \(conflict) belongs to another source; skipped") }
            } catch {
                logger.error("import failed", metadata: ["error": "\(error)"])
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
