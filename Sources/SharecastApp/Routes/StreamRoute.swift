import SharecastCore
import SharecastHTTP
import SharecastTS

/// `GET /stream/<key>` (also `<key>.ts`): the channel's live MPEG-TS.
///
/// An unknown or malformed key gets the same 404 as any unknown path, so keys cannot be probed.
/// Until shared streaming lands, the built-in test channel is served directly (one paced generator
/// per viewer) and provider channels answer 501.
enum StreamRoute {
    static func handler(catalog: ChannelCatalog, clip: TSClip?, ticker: WakeTicker) -> Router.Handler {
        { request in
            var key = Substring(request.parameters["key"] ?? "")
            if key.hasSuffix(".ts") { key = key.dropLast(3) }
            guard StreamKey.isWellFormed(key), let stored = catalog.channel(forKey: String(key)) else {
                return .notFound()
            }
            guard stored.channel.urls.first == StreamURL.testPattern else {
                return .error(status: 501, code: "not_implemented",
                              message: "channel \(stored.channel.id): provider upstreams are not served yet")
            }
            guard let clip else {
                return .error(status: 500, code: "no_test_clip", message: "the built-in test clip is missing or damaged")
            }
            let body = TestPatternBody(clip: clip, ticker: ticker)
            return HTTPResponse(
                headers: HTTPHeaders([("Content-Type", "video/mp2t"), ("Cache-Control", "no-store")]),
                body: .stream(body)
            )
        }
    }
}
