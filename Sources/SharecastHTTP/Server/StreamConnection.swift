import CMicroHTTPD
import CShims
import Glibc
import Synchronization
import SharecastSync

/// The server's side of one streaming response: it pulls from the body, parks the connection with
/// `MHD_suspend_connection` when the body has nothing, and resumes it when woken.
///
/// The lost-wakeup race is closed by `wakePending`: a wake that arrives between the body saying
/// `.wait` and the park makes the reader try again instead of parking. Resuming happens outside the
/// lock because MHD may call back into `closed()` while holding its own locks.
final class StreamConnection: ResponseConnection, @unchecked Sendable {
    struct State {
        var parked = false
        var wakePending = false
        var closed = false
    }

    let body: any StreamingBody
    /// Valid while the response lives: MHD frees the connection only after the response's free callback.
    let connection: OpaquePointer
    let server: ServerContext
    /// The socket, valid until `closed()`: MHD frees the response before it closes the socket, and
    /// every use below happens under `state`'s lock with `closed` false.
    let socket: Int32
    private let state = Locked(State())
    private let finishing = Atomic<Bool>(false)
    /// Bytes handed to MHD; only the connection's thread writes it.
    private(set) var bytesSent: Int64 = 0
    private var endedByBody = false

    init(body: any StreamingBody, connection: OpaquePointer, server: ServerContext) {
        self.body = body
        self.connection = connection
        self.server = server
        socket = shim_mhd_connection_fd(connection)
    }

    static let endOfStream = -1

    /// MHD's content reader: bytes written, 0 when parked, -1 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        for _ in 0..<4 {
            if finishing.load(ordering: .acquiring) { return Self.endOfStream }
            switch body.read(into: buffer, waker: self) {
            case let .bytes(count) where count > 0:
                bytesSent += Int64(count)
                return count
            case .bytes, .wait:
                let parked = state.withLock { state -> Bool in
                    if state.wakePending {
                        state.wakePending = false
                        return false
                    }
                    state.parked = true
                    MHD_suspend_connection(connection)
                    return true
                }
                if parked { return 0 }
            case .end:
                endedByBody = true
                return Self.endOfStream
            }
        }
        return 0
    }

    func wake() {
        let resume = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            if state.parked {
                state.parked = false
                return true
            }
            state.wakePending = true
            return false
        }
        if resume { MHD_resume_connection(connection) }
    }

    func abort() {
        finishing.store(true, ordering: .releasing)
        state.withLock { state in
            guard !state.closed, socket >= 0 else { return }
            _ = Glibc.shutdown(socket, Int32(SHUT_RDWR))
        }
        wake()
    }

    var isPeerGone: Bool {
        state.withLock { state in
            guard !state.closed, socket >= 0 else { return true }
            return Self.peerHasGone(socket)
        }
    }

    /// True when the peer of `socket` has closed or reset its end: a peek that reads nothing
    /// (end of file) or fails for another reason than "no data yet". Reads no data.
    static func peerHasGone(_ socket: Int32) -> Bool {
        var byte: UInt8 = 0
        let received = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if received == 0 { return true }
        return received < 0 && errno != EAGAIN && errno != EWOULDBLOCK
    }

    /// Ends the stream at the next read (server shutdown, kick).
    func finish() {
        finishing.store(true, ordering: .releasing)
        wake()
    }

    /// MHD freed the response: the connection is over.
    func closed() {
        state.withLock { $0.closed = true }
        body.close(bytesSent: bytesSent, completed: endedByBody)
    }
}
