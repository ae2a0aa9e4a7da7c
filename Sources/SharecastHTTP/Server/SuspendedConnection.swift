import Synchronization
import SharecastSync

/// The handle a held (pending) response's body gets while its connection is suspended in MHD:
/// the viewer's hang-up can be noticed (a peek at the socket) and the wait ended (`abort`), though
/// no response has been queued yet.
///
/// The socket is used only under the lock and only until `invalidate`, which the server calls
/// just before resuming: MHD cannot close a suspended connection's socket, so it is valid until then.
final class SuspendedConnection: ResponseConnection, @unchecked Sendable {
    private let socket: Locked<Int32>
    private let pending: PendingResponse

    init(socket: Int32, pending: PendingResponse) {
        self.socket = Locked(socket)
        self.pending = pending
    }

    func invalidate() {
        socket.withLock { $0 = -1 }
    }

    func wake() {}

    /// Ends the wait: the client is answered 503 (and has most likely gone); the handler's
    /// cleanup runs.
    func abort() {
        pending.abandon(answering: .error(status: 503, code: "stream_ended", message: "the stream ended before it started"))
    }

    var isPeerGone: Bool {
        socket.withLock { socket in
            guard socket >= 0 else { return false }
            return StreamConnection.peerHasGone(socket)
        }
    }
}
