import Foundation
import SharecastHTTP

/// The OpenAPI 3.1 description of this API, shipped as `openapi.json` next to the code.
public enum OpenAPIDocument {
    /// The document's bytes, read once.
    public static let bytes: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return nil }
        return Array(data)
    }()

    static func response() -> HTTPResponse {
        guard let bytes else {
            return .error(status: 500, code: "openapi_missing", message: "the OpenAPI document is not installed next to the binary")
        }
        return HTTPResponse(headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(bytes))
    }
}
