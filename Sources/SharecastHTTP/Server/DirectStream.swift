import Glibc
import Synchronization
import SharecastSync

/// One streaming response sent by `DirectDelivery` on a socket taken from libmicrohttpd after it
/// parsed the request: the head first, then what the body reads, in sends as large as there is
/// data (not MHD's block size), with no suspend and resume per wake.
///
/// The descriptor is a duplicate of MHD's; MHD keeps its connection suspended until `release`,
/// then closes it. Everything but the `ResponseConnection` calls runs on the delivery thread.
///
/// `@unchecked Sendable`: `head`, `pending`, `bytesSent` and `writable` are touched only on the
/// delivery thread; what other threads call (`wake`, `abort`, `isPeerGone`) goes through `shared`
/// and the atomics.
final class DirectStream: ResponseConnection, @unchecked Sendable {
    struct Shared {
        /// Closed by the delivery thread; after that the descriptor is not used by anyone.
        var closed = false
    }

    let socket: Int32
    let body: any StreamingBody
    /// The body again when it can hand out its bytes in place (no copy into the scratch buffer).
    let inPlace: (any InPlaceStreamingBody)?
    private weak var delivery: DirectDelivery?
    /// Resumes MHD's suspended connection so it closes it; called once.
    private let release: @Sendable () -> Void
    private let shared = Locked(Shared())
    /// Set while the stream waits in the delivery's ready list, so a burst of wakes queues it once.
    let queued = Atomic<Bool>(false)
    let finishing = Atomic<Bool>(false)

    // Delivery thread only.
    var head: [UInt8]
    var headSent = 0
    /// Bytes the body produced that the socket did not take yet (sent before reading more).
    var pending: [UInt8] = []
    var pendingSent = 0
    var bytesSent: Int64 = 0
    var writable = true
    /// A send failed for another reason than a full socket: the peer is gone.
    var failed = false
    var endedByBody = false

    init(socket: Int32, head: [UInt8], body: any StreamingBody, delivery: DirectDelivery, release: @escaping @Sendable () -> Void) {
        self.socket = socket
        self.head = head
        self.body = body
        inPlace = body.inPlace
        self.delivery = delivery
        self.release = release
    }

    func wake() {
        delivery?.markReady(self)
    }

    func abort() {
        finishing.store(true, ordering: .releasing)
        shared.withLock { state in
            guard !state.closed else { return }
            _ = Glibc.shutdown(socket, Int32(SHUT_RDWR))
        }
        wake()
    }

    var isPeerGone: Bool {
        shared.withLock { state in
            guard !state.closed else { return true }
            return StreamConnection.peerHasGone(socket)
        }
    }

    /// Ends the stream at its next turn (server shutdown).
    func finish() {
        finishing.store(true, ordering: .releasing)
        wake()
    }

    /// Closes the descriptor, tells the body, and lets MHD close its side. Delivery thread, once.
    func close() {
        shared.withLock { state in
            state.closed = true
            Glibc.close(socket)
        }
        body.close(bytesSent: bytesSent, completed: endedByBody)
        release()
    }
}
