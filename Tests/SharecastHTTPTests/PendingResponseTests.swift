import Testing
import SharecastSync
@testable import SharecastHTTP

/// The hand-over between a held response's handler and the server.
@Suite struct PendingResponseTests {
    /// The server resumes a connection as soon as its response is set and may take that response
    /// before the code that set it goes on. An answer that replaces the handler's (the client hung
    /// up) must still run the handler's cleanup: it once ran only if it came before the take, and a
    /// held viewer then stayed attached to its session until `client_timeout`.
    @Test func cleanupRunsWhenTheResumedConnectionTakesTheAnswerAtOnce() {
        let pending = PendingResponse()
        let cleanups = Locked(0)
        pending.onAbandon { cleanups.withLock { $0 += 1 } }
        let taken = Locked<HTTPResponse?>(nil)
        // What the server does: resume at once, and the resumed connection takes the answer.
        pending.whenResolved { taken.withLock { $0 = pending.take() } }
        #expect(pending.abandon(answering: .error(status: 503, code: "stream_ended", message: "gone")))
        #expect(cleanups.withLock { $0 } == 1)
        #expect(taken.withLock { $0?.status } == 503)
        // Once decided, neither the handler's answer nor a second abandon counts.
        #expect(!pending.resolve(.error(status: 200, code: "late", message: "late")))
        #expect(!pending.abandon(answering: .error(status: 503, code: "again", message: "again")))
        #expect(cleanups.withLock { $0 } == 1)
    }

    @Test func anAnswerOfTheHandlerRunsNoCleanup() {
        let pending = PendingResponse()
        let cleanups = Locked(0)
        pending.onAbandon { cleanups.withLock { $0 += 1 } }
        pending.whenResolved { _ = pending.take() }
        #expect(pending.resolve(.error(status: 502, code: "upstream", message: "refused")))
        #expect(!pending.abandon(answering: .error(status: 503, code: "stream_ended", message: "gone")))
        #expect(cleanups.withLock { $0 } == 0)
    }

    /// A handler that checks for an answer before returning (none yet) keeps its cleanup.
    @Test func lookingForAnAnswerThatIsNotThereKeepsTheCleanup() {
        let pending = PendingResponse()
        let cleanups = Locked(0)
        pending.onAbandon { cleanups.withLock { $0 += 1 } }
        #expect(pending.takeIfResolved() == nil)
        #expect(pending.abandon(answering: .error(status: 503, code: "stream_ended", message: "gone")))
        #expect(cleanups.withLock { $0 } == 1)
    }
}
