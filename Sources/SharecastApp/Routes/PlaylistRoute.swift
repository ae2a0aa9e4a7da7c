import SharecastCore
import SharecastHTTP

/// `GET /playlist.m3u`: the catalog with every URL rewritten to `<base>/stream/<key>`.
enum PlaylistRoute {
    static func handler(catalog: ChannelCatalog, publicBaseURL: String, guide: @escaping @Sendable () -> Bool = { false }) -> Router.Handler {
        { request in render(request, catalog: catalog, publicBaseURL: publicBaseURL, streamPrefix: "/stream/", guide: guide()) { _ in true } }
    }

    /// `GET /u/<secret>/playlist.m3u`: the channels of the user's groups, with URLs that carry
    /// the user (`/u/<secret>/stream/<key>`). A wrong secret is the same 404 as an unknown path.
    static func userHandler(catalog: ChannelCatalog, publicBaseURL: String, users: UserDirectory, guide: @escaping @Sendable () -> Bool = { false }) -> Router.Handler {
        { request in
            guard let user = users.user(secret: Substring(request.parameters["secret"] ?? "")) else { return .notFound() }
            return render(request, catalog: catalog, publicBaseURL: publicBaseURL, streamPrefix: "/u/\(user.secret)/stream/", guide: guide()) { user.sees($0) }
        }
    }

    /// With `guide`, the header names `<base>/epg.xml` and every channel carries the tvg-id the
    /// guide serves it under (its own id when the provider gave none).
    static func render(_ request: HTTPRequest, catalog: ChannelCatalog, publicBaseURL: String, streamPrefix: String, guide: Bool = false,
                       including: (CatalogChannel) -> Bool) -> HTTPResponse {
        let base: String
        if !publicBaseURL.isEmpty {
            base = publicBaseURL
        } else if let host = request.headers["Host"], isValidHost(host) {
            base = "http://\(host)"
        } else {
            return .error(status: 400, code: "bad_host",
                          message: "the Host header is missing or malformed; set server.public_base_url to serve this playlist")
        }
        let items = catalog.current.channels.filter { including($0.channel) }.map { stored in
            M3UWriter.Item(
                title: stored.channel.name, url: "\(base)\(streamPrefix)\(stored.streamKey)",
                tvgID: guide ? GuideService.servedID(stored.channel) : stored.channel.tvgID,
                tvgName: stored.channel.tvgName, logo: stored.channel.logo,
                group: stored.channel.group.isEmpty ? nil : stored.channel.group, number: stored.channel.number
            )
        }
        var response = HTTPResponse.text(M3UWriter.write(items, guideURL: guide ? "\(base)/epg.xml" : nil), contentType: "audio/x-mpegurl; charset=utf-8")
        response.headers.add("Cache-Control", "no-store")
        return response
    }

    /// A host name or address with an optional port: nothing that could smuggle a path or a scheme
    /// into the URLs handed to players.
    static func isValidHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255 && host.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "_")
        }
    }
}
