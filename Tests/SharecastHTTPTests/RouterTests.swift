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
}
