/// What a streaming body's `read` produced.
public enum StreamRead: Sendable, Equatable {
    /// This many bytes were written into the buffer.
    case bytes(Int)
    /// Nothing is ready yet. The body has arranged for `waker.wake()` to be called when there is.
    case wait
    /// The body is finished; the server ends the response.
    case end
}

/// Wakes a response that returned `.wait`. Safe to call from any thread, any number of times, also
/// after the connection has gone (it then does nothing).
public protocol ResponseWaker: AnyObject, Sendable {
    func wake()
}

/// The server's handle on one streaming response's connection, given to its body when the
/// response starts. Safe from any thread; after the connection is gone every call does nothing.
public protocol ResponseConnection: ResponseWaker {
    /// Closes the connection now, even if it is blocked on a client that stopped reading: its body
    /// sees `close` soon after.
    func abort()
    /// True when the client has closed or reset its end (checked without reading any data), for
    /// finding viewers that left while their connection was parked.
    var isPeerGone: Bool { get }
}

/// A response body produced while it is being sent, pulled by the server whenever the client's
/// socket can take more.
///
/// `read` runs on a server thread, so it must not block: when it has nothing it returns `.wait`,
/// after registering `waker` with whatever produces its data, and the server parks the connection
/// (it costs no thread while parked) until `waker.wake()` is called. A wake that races ahead of
/// `.wait` is not lost: the server then calls `read` again straight away.
public protocol StreamingBody: AnyObject, Sendable {
    func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead
    /// Called once, when the response is over (client gone, body ended, server stopping), so the
    /// body can unregister and record what it sent.
    func close(bytesSent: Int64, completed: Bool)
    /// Called once, before the first `read`, with the connection the body is sent on.
    func opened(_ connection: any ResponseConnection)
    /// The body as an `InPlaceStreamingBody` if it is one; nil by default. A requirement rather
    /// than an `as?` cast, which searches the conformance tables on every stream join.
    var inPlace: (any InPlaceStreamingBody)? { get }
}

extension StreamingBody {
    public func opened(_ connection: any ResponseConnection) {}
    public var inPlace: (any InPlaceStreamingBody)? { nil }
}

/// A streaming body whose bytes already lie in memory that stays valid (a ring buffer): the
/// direct delivery sends them from where they are instead of copying them out first.
public protocol InPlaceStreamingBody: StreamingBody {
    /// Calls `transmit` with the next bytes, in place, at most once; `transmit` returns how many
    /// it took (0: none, the socket is full), and the body moves on by that. `.bytes(n)` says
    /// how many were taken; `.wait` and `.end` as for `read`.
    func send(_ transmit: (UnsafeRawBufferPointer) -> Int, waker: any ResponseWaker) -> StreamRead
}

extension InPlaceStreamingBody {
    public var inPlace: (any InPlaceStreamingBody)? { self }
}
