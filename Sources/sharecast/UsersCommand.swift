import ArgumentParser
import Foundation
import SharecastCore
import SharecastStore

/// `sharecast users`: each configured user's personal playlist URL, for the operator to hand out.
/// It reads the configuration and the database on this host (generating and storing a secret for
/// a user that has none yet, as the server does); the secrets are never served by the API.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Print each configured user's personal playlist URL (from the configuration and the database on this host)."
    )

    @Option(name: .long, help: "The base URL players reach Sharecast at (default: server.public_base_url, else http://localhost:<port>).")
    var base: String?

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let loaded = try options.load()
        let config = loaded.config
        guard !config.users.isEmpty else { return printOutput("no users configured (users: in the configuration)") }
        let stored: [String: String]
        do {
            let database = try SharecastDatabase(path: config.database.path)
            stored = try database.userSecrets(for: config.users.filter { $0.secret == nil }.map(\.name), generate: StreamKey.generate)
            try database.close()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let root = base ?? (config.server.publicBaseURL.isEmpty ? "http://localhost:\(config.server.port)" : config.server.publicBaseURL)
        for user in config.users {
            guard let secret = user.secret?.value ?? stored[user.name] else { continue }
            let limit = user.maxStreams.flatMap { $0 > 0 ? "max \($0) streams" : nil } ?? "no limit"
            let groups = user.groups.isEmpty ? "all groups" : user.groups.joined(separator: ", ")
            printOutput("\(user.name)  \(root)/u/\(secret)/playlist.m3u  (\(limit); \(groups))")
        }
    }
}
