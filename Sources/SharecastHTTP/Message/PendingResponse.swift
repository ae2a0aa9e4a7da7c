import Synchronization
import SharecastSync

/// A response whose status is not known when the handler returns: a stream that must not answer
/// `200` before its upstream has delivered (a player that gets `200` and then nothing shows a
/// black screen instead of an error).
///
/// The handler returns `HTTPResponse.pending(_:)` and later calls `resolve` once, from any thread.
/// Meanwhile the connection is suspended in MHD and costs no thread. The server resolves whatever
/// is still pending when it stops (503), so no connection stays suspended past shutdown.
public final class PendingResponse: Sendable {
    struct State {
        var response: HTTPResponse?
        var onResolve: (@Sendable () -> Void)?
        /// Called if the response is dropped unsent (the server stops first).
        var onAbandon: (@Sendable () -> Void)?
        var abandoned = false
        /// Set with the first response and never cleared: `take` empties `response`, and a later
        /// `resolve` or `abandon(answering:)` must still be refused.
        var decided = false
        var onSuspend: (@Sendable (any ResponseConnection) -> Void)?
    }

    private let state = Locked(State())

    public init() {}

    /// Sets the response; only the first call counts. Returns whether it was the first.
    @discardableResult
    public func resolve(_ response: HTTPResponse) -> Bool {
        let wake = state.withLock { state -> (@Sendable () -> Void)?? in
            guard !state.decided, !state.abandoned else { return nil }
            state.response = response
            state.decided = true
            defer { state.onResolve = nil }
            return .some(state.onResolve)
        }
        guard let wake else { return false }
        wake?()
        return true
    }

    /// Called once if the response is never sent (the server stopped, or resolved it itself):
    /// the handler's cleanup, e.g. to let go of a viewer that was never attached to a connection.
    public func onAbandon(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            guard !state.abandoned else { return true }
            state.onAbandon = action
            return false
        }
        if runNow { action() }
    }

    /// The handler's side: the response, when it was set before the handler returned (it is then
    /// returned as it is, and this pending one is done with).
    public func takeIfResolved() -> HTTPResponse? {
        take()
    }

    /// `action` gets the suspended connection's handle while the answer waits (to notice a client
    /// that hangs up meanwhile, or to end the wait). Set it before returning the response.
    public func onSuspend(_ action: @escaping @Sendable (any ResponseConnection) -> Void) {
        state.withLock { $0.onSuspend = action }
    }

    /// The server's side: the connection is suspended.
    func suspended(_ connection: any ResponseConnection) {
        let action = state.withLock { state -> (@Sendable (any ResponseConnection) -> Void)? in
            defer { state.onSuspend = nil }
            return state.onSuspend
        }
        action?(connection)
    }

    /// The server's side: `action` runs once the response is set (at once if it already is).
    func whenResolved(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            guard !state.decided else { return true }
            state.onResolve = action
            return false
        }
        if runNow { action() }
    }

    /// The server's side: takes the response to queue.
    func take() -> HTTPResponse? {
        state.withLock { state in
            guard let response = state.response else { return nil }
            // Sent now: the handler's cleanup is not needed. Without a response it stays.
            state.response = nil
            state.onAbandon = nil
            return response
        }
    }

    var isResolved: Bool { state.withLock { $0.response != nil } }

    /// The server's side: answers `response` instead of the handler's, and runs the handler's
    /// cleanup (the client hung up, or the server stops). Both happen under one lock: were the
    /// cleanup taken after `resolve`, the resumed connection could `take` the response first and
    /// the cleanup would be lost (a held viewer stayed attached until `client_timeout`).
    /// Returns false when the response was already set.
    @discardableResult
    func abandon(answering response: HTTPResponse) -> Bool {
        let actions = state.withLock { state -> (wake: (@Sendable () -> Void)?, cleanup: (@Sendable () -> Void)?)? in
            guard !state.decided, !state.abandoned else { return nil }
            state.response = response
            state.decided = true
            state.abandoned = true
            defer { state.onResolve = nil; state.onAbandon = nil }
            return (state.onResolve, state.onAbandon)
        }
        guard let actions else { return false }
        actions.cleanup?()
        actions.wake?()
        return true
    }

    /// The server's side: the response will not be sent; runs the handler's cleanup.
    func abandon() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.abandoned = true
            defer { state.onAbandon = nil }
            return state.onAbandon
        }
        action?()
    }
}

extension HTTPResponse {
    /// A response decided later; see `PendingResponse`.
    public static func pending(_ pending: PendingResponse) -> HTTPResponse {
        HTTPResponse(status: 0, body: .pending(pending))
    }
}
