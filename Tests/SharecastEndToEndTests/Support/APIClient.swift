import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// JSON calls against a running server, with the status, headers and decoded body.
struct APIClient: Sendable {
    struct Reply: @unchecked Sendable {
        var status: Int
        var headers: [String: String]
        var json: Any?
        var body: Data

        /// `data` of a success body as a dictionary.
        var data: [String: Any] { (json as? [String: Any])?["data"] as? [String: Any] ?? [:] }
        var list: [[String: Any]] { (json as? [String: Any])?["data"] as? [[String: Any]] ?? [] }
        var errorCode: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String }
    }

    let port: Int
    var token: String?

    func call(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return Reply(status: http?.statusCode ?? 0, headers: fields, json: try? JSONSerialization.jsonObject(with: data), body: data)
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> Reply {
        try await call("GET", path, headers: headers)
    }

    func post(_ path: String, json: String? = nil) async throws -> Reply {
        try await call("POST", path, body: json.map { Data($0.utf8) })
    }

    func delete(_ path: String) async throws -> Reply {
        try await call("DELETE", path)
    }
}
