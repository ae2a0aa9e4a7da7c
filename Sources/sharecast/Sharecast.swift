import ArgumentParser
import SharecastCore

/// The `sharecast` command: a thin shell that parses arguments and hands over to the libraries.
@main
struct Sharecast: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sharecast",
        abstract: "Share one upstream connection per IPTV channel among many viewers.",
        version: SharecastVersion.current,
        subcommands: [ServeCommand.self, ConfigCommand.self, PlaylistCommand.self, StreamsCommand.self, StatsCommand.self, CleanupCommand.self, ProvidersCommand.self, UsersCommand.self, RulesCommand.self, OriginCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
