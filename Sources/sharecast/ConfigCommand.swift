import ArgumentParser
import SharecastCore

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with configuration files.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file; exit status 2 and every problem as file:line:column if it is bad."
        )

        @Argument(help: "The YAML file to check.")
        var file: String

        func run() throws {
            do {
                let loaded = try ConfigLoader.load(path: file)
                print("\(file): ok (\(loaded.config.channels.count) channels, \(loaded.config.playlists.count) playlists)")
            } catch {
                printError(error.description)
                throw ExitCode(2)
            }
        }
    }
}
