import ArgumentParser
import Foundation
import SharecastUpstream

/// How to reach a running server: `--server`, `--token`, `--json`.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "The running server's base URL (or SHARECAST_SERVER).")
    var server: String?

    @Option(name: .long, help: "An API token from security.api_tokens (or SHARECAST_API_TOKEN).")
    var token: String?

    @Flag(name: .long, help: "Print the server's JSON instead of a table.")
    var json = false

    var baseURL: String {
        let given = server ?? ProcessInfo.processInfo.environment["SHARECAST_SERVER"] ?? "http://127.0.0.1:8085"
        return given.hasSuffix("/") ? String(given.dropLast()) : given
    }

    /// Calls the API; returns the payload under `data`, or prints a clear error and exits 1.
    func call(_ method: String, _ path: String) throws -> (payload: Any, raw: [UInt8]) {
        var headers: [(String, String)] = []
        if let token = token ?? ProcessInfo.processInfo.environment["SHARECAST_API_TOKEN"], !token.isEmpty {
            headers.append(("Authorization", "Bearer \(token)"))
        }
        var fetcher = HTTPFetcher()
        fetcher.timeoutSeconds = 30
        fetcher.connectTimeoutSeconds = 5
        let response: HTTPFetcher.Response
        do {
            response = try fetcher.send(method, baseURL + path, headers: headers)
        } catch {
            printError("cannot reach Sharecast at \(baseURL): \(error.reason). Is the server running? (--server or SHARECAST_SERVER)")
            throw ExitCode(1)
        }
        let json = try? JSONSerialization.jsonObject(with: Data(response.body))
        let error = (json as? [String: Any])?["error"] as? [String: Any]
        let message = error?["message"] as? String ?? String(decoding: response.body.prefix(200), as: UTF8.self)
        switch response.status {
        case 200..<300:
            guard let payload = (json as? [String: Any])?["data"] else {
                printError("\(baseURL)\(path) did not answer with Sharecast's JSON (HTTP \(response.status)); is --server right?")
                throw ExitCode(1)
            }
            return (payload, response.body)
        case 401 where headers.contains { $0.0 == "Authorization" }:
            printError("the server refused the token (HTTP 401: \(message)); check --token or SHARECAST_API_TOKEN")
        case 401:
            printError("the server wants an API token and none was given (HTTP 401: \(message)); pass --token or set SHARECAST_API_TOKEN")
        case 403:
            printError("the server refused this request (HTTP 403: \(message))")
        default:
            printError("HTTP \(response.status): \(message)")
        }
        throw ExitCode(1)
    }

    func printJSON(_ raw: [UInt8]) {
        printOutput(String(decoding: raw, as: UTF8.self))
    }
}

/// Rows as aligned columns, for people.
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func text(_ value: Any?) -> String {
        switch value {
        // JSON booleans arrive as NSNumber too; their type is the one thing that tells them apart.
        case let number as NSNumber where String(describing: type(of: number)).contains("Boolean"): number.boolValue ? "yes" : "no"
        case let number as NSNumber where number.doubleValue != number.doubleValue.rounded(): String(format: "%.1f", number.doubleValue)
        case let number as NSNumber: "\(number.int64Value)"
        case let value?: "\(value)"
        case nil: "-"
        }
    }

    static func duration(_ seconds: Int) -> String {
        seconds >= 3600 ? "\(seconds / 3600)h\(seconds % 3600 / 60)m" : seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }
}

struct StreamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "List or stop the streams of a running server.",
        subcommands: [List.self, Stop.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Running streams, then recent history.")

        @Option(name: .long, help: "Only streams with this status: starting, active, idle, error or stopped.")
        var status: String?

        @OptionGroup var server: ServerOptions

        func run() throws {
            let query = status.map { "?status=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
            let (payload, raw) = try server.call("GET", "/api/monitor/streams\(query)")
            if server.json { return server.printJSON(raw) }
            let streams = payload as? [[String: Any]] ?? []
            guard !streams.isEmpty else { return printOutput("no streams") }
            printOutput(Table.render(
                ["ID", "CHANNEL", "STATUS", "HEALTH", "CLIENTS", "KBPS", "UPTIME", "RESTARTS"],
                streams.map { stream in
                    [Table.text(stream["id"]), Table.text(stream["channel_id"]), Table.text(stream["status"]), Table.text(stream["health"]),
                     Table.text(stream["client_count"]), Table.text(stream["bandwidth_kbps"]),
                     Table.duration(stream["uptime_seconds"] as? Int ?? 0), Table.text(stream["restart_count"])]
                }
            ))
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a running stream; its viewers are disconnected (reason kicked).")

        @Argument(help: "The stream's id, as `sharecast streams list` shows it.")
        var id: String

        @OptionGroup var server: ServerOptions

        func run() throws {
            let (payload, raw) = try server.call("DELETE", "/api/monitor/streams/\(id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id)")
            if server.json { return server.printJSON(raw) }
            let result = payload as? [String: Any] ?? [:]
            printOutput("stopped stream \(Table.text(result["id"])); viewers disconnected: \(Table.text(result["clients_closed"]))")
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Totals of a running server: streams, viewers, bandwidth.")

    @OptionGroup var server: ServerOptions

    func run() throws {
        let (payload, raw) = try server.call("GET", "/api/monitor/stats")
        if server.json { return server.printJSON(raw) }
        let stats = payload as? [String: Any] ?? [:]
        let streams = stats["streams"] as? [String: Any] ?? [:]
        let byStatus = (streams["by_status"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(Table.text($0.value))" }
        let averages = stats["averages"] as? [String: Any] ?? [:]
        printOutput(Table.render(["FIGURE", "VALUE"], [
            ["streams running", Table.text(streams["running"])],
            ["streams by status", byStatus.joined(separator: ", ")],
            ["viewers", Table.text(stats["clients"])],
            ["bandwidth (kbit/s)", Table.text(stats["bandwidth_kbps"])],
            ["bytes in", Table.text(stats["bytes_in"])],
            ["bytes out", Table.text(stats["bytes_out"])],
            ["viewers per stream", Table.text(averages["clients_per_stream"])],
        ]))
    }
}

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cleanup", abstract: "Run the server's cleanup job now and show what it removed.")

    @OptionGroup var server: ServerOptions

    func run() throws {
        let (payload, raw) = try server.call("POST", "/api/monitor/cleanup")
        if server.json { return server.printJSON(raw) }
        let report = payload as? [String: Any] ?? [:]
        printOutput(Table.render(["REMOVED", "COUNT"], [
            ["idle viewers disconnected", Table.text(report["clients_dropped"])],
            ["idle streams stopped", Table.text(report["sessions_stopped"])],
            ["dead history rows marked stopped", Table.text(report["streams_marked_stopped"])],
        ]))
    }
}
