import Foundation
import SharecastHTTP

/// The API's JSON conventions: snake_case keys, ISO 8601 dates, payloads under `data`, errors as
/// `{"error":{"code","message"}}`, and request bodies decoded with errors that name the field.
enum MonitorJSON {
    struct Envelope<Payload: Encodable>: Encodable {
        let data: Payload
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func ok<Payload: Encodable>(_ payload: Payload, status: Int = 200) -> HTTPResponse {
        guard let data = try? encoder().encode(Envelope(data: payload)) else {
            return .error(status: 500, code: "encoding_failed", message: "the response could not be encoded")
        }
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json"), ("Cache-Control", "no-store")]),
                            body: .bytes(Array(data)))
    }

    /// A request refused with this response.
    struct Rejection: Error {
        let response: HTTPResponse
    }

    /// Decodes a JSON body; the error response says which field was wrong and how.
    static func decode<Body: Decodable>(_ type: Body.Type, from request: HTTPRequest) -> Result<Body, Rejection> {
        guard request.headers["Content-Type"]?.lowercased().hasPrefix("application/json") ?? true else {
            return .failure(Rejection(response: .error(status: 415, code: "unsupported_media_type", message: "send the body as application/json")))
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return .success(try decoder.decode(Body.self, from: Data(request.body)))
        } catch let DecodingError.keyNotFound(key, context) {
            return .failure(Rejection(response: badRequest(field: path(context.codingPath + [key]), "is required")))
        } catch let DecodingError.typeMismatch(type, context) {
            return .failure(Rejection(response: badRequest(field: path(context.codingPath), "must be \(describe(type))")))
        } catch let DecodingError.valueNotFound(type, context) {
            return .failure(Rejection(response: badRequest(field: path(context.codingPath), "must be \(describe(type)), not null")))
        } catch let DecodingError.dataCorrupted(context) {
            let field = path(context.codingPath)
            return .failure(Rejection(response: .error(status: 400, code: "invalid_json",
                                   message: field.isEmpty ? "the body is not valid JSON" : "field \(field): \(context.debugDescription)")))
        } catch {
            return .failure(Rejection(response: .error(status: 400, code: "invalid_json", message: "the body is not valid JSON")))
        }
    }

    static func badRequest(field: String, _ problem: String) -> HTTPResponse {
        .error(status: 400, code: "invalid_field", message: "field \(field) \(problem)")
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue.snakeCased }.joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default: "of type \(type)"
        }
    }
}

extension String {
    /// `userAgent` → `user_agent`, as the API spells keys.
    var snakeCased: String {
        var out = ""
        for character in self {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}
