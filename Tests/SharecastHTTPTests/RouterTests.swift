import Testing
@testable import SharecastHTTP

@Suite struct RouterTests {
    static func router() -> Router {
        var router = Router()
        router.add("GET", "/streams/:id", name: "stream") { _ in .text("stream") }
        router.add("DELETE", "/streams/:id", name: "stop") { _ in .text("stop") }
        router.add("POST", "/streams/test", name: "test") { _ in .text("test") }
        return router
    }

    @Test func aLiteralSegmentShadowsAParameterForItsPath() {
        let router = Self.router()
        guard case let .matched(post) = router.resolve(method: "POST", path: "/streams/test") else { Issue.record("no match"); return }
        #expect(post.name == "test")
        guard case let .methodNotAllowed(allowed) = router.resolve(method: "GET", path: "/streams/test") else {
            Issue.record("GET /streams/test should be 405"); return
        }
        #expect(allowed == ["POST"])
        guard case let .matched(get) = router.resolve(method: "GET", path: "/streams/abc") else { Issue.record("no match"); return }
        #expect(get.name == "stream" && get.parameters == ["id": "abc"])
        guard case let .methodNotAllowed(other) = router.resolve(method: "PUT", path: "/streams/abc") else { Issue.record("PUT should be 405"); return }
        #expect(other == ["GET", "DELETE"])
    }

    /// Routes are looked up by their first segment; those starting with a parameter or `*` (and
    /// the root) still take part, in the order they were added.
    @Test func routesStartingWithAParameterOrWildcardStillMatchInOrder() {
        var router = Router()
        router.get("/", name: "root") { _ in .text("root") }
        router.get("/api/status", name: "status") { _ in .text("status") }
        router.get("/:channel/info", name: "info") { _ in .text("info") }
        router.get("/api/*", name: "api-rest") { _ in .text("rest") }
        router.get("/*", name: "fallback") { _ in .text("fallback") }
        func name(_ path: String) -> String? {
            guard case let .matched(match) = router.resolve(method: "GET", path: path) else { return nil }
            return match.name
        }
        #expect(name("/") == "root")
        #expect(name("/api/status") == "status")
        #expect(name("/api/other/deep") == "api-rest")
        #expect(name("/news/info") == "info")
        // One literal segment each ("info", "api"): the one added first wins.
        #expect(name("/api/info") == "info")
        #expect(name("/anything/else") == "fallback")
        guard case let .matched(info) = router.resolve(method: "GET", path: "/news/info") else { Issue.record("no match"); return }
        #expect(info.parameters == ["channel": "news"])
        guard case .methodNotAllowed(["GET"]) = router.resolve(method: "POST", path: "/api/status") else { Issue.record("POST should be 405"); return }
    }

    @Test func pathsSplitIntoTheirNonEmptySegments() {
        #expect(Router.segments(of: "/stream/abc.ts") == ["stream", "abc.ts"])
        #expect(Router.segments(of: "//a//b/") == ["a", "b"])
        #expect(Router.segments(of: "/") == [])
        #expect(Router.segments(of: "") == [])
        #expect(Router.segments(of: "plain") == ["plain"])
        #expect(Router.segments(of: "/ünï/çødé/") == ["ünï", "çødé"])
    }
}
