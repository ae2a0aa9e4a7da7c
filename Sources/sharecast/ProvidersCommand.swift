import ArgumentParser
import Foundation

/// `sharecast providers list|refresh`: a running server's providers, their logins and slots.
struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "List a running server's providers (logins, slots, account state, last refresh) or refresh one.",
        subcommands: [List.self, Refresh.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each provider's logins with slots in use, state and expiry.")

        @OptionGroup var server: ServerOptions

        func run() throws {
            let (payload, raw) = try server.call("GET", "/api/monitor/providers")
            if server.json { return server.printJSON(raw) }
            let providers = payload as? [[String: Any]] ?? []
            guard !providers.isEmpty else { return printOutput("no providers") }
            var rows: [[String]] = []
            for provider in providers {
                let refreshed = (provider["last_success_at"] as? String) ?? "never"
                let error = provider["last_error"] as? String
                for account in provider["accounts"] as? [[String: Any]] ?? [] {
                    let limit = account["max_streams"].map { Table.text($0) } ?? "∞"
                    rows.append([Table.text(provider["name"]), Table.text(provider["type"]), Table.text(account["name"]),
                                 Table.text(account["status"]), "\(Table.text(account["streams_in_use"]))/\(limit)",
                                 Table.text(account["expires_at"]), Table.text(provider["channels"]),
                                 error.map { "failed: \($0.prefix(60))" } ?? refreshed])
                }
            }
            printOutput(Table.render(["PROVIDER", "TYPE", "ACCOUNT", "STATUS", "STREAMS", "EXPIRES", "CHANNELS", "LAST REFRESH"], rows))
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-read a provider's channel list now (the server does it in the background).")

        @Argument(help: "The provider's name, as `sharecast providers list` shows it.")
        var name: String

        @OptionGroup var server: ServerOptions

        func run() throws {
            let (_, raw) = try server.call("POST", "/api/monitor/providers/\(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name)/refresh")
            if server.json { return server.printJSON(raw) }
            printOutput("refresh of provider \(name) requested; `sharecast providers list` shows its result")
        }
    }
}
