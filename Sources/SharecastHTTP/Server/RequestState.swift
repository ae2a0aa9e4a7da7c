import Foundation

/// Per-request state kept between MHD's calls to the access handler (headers, body chunks, end)
/// and until the completion callback. MHD calls these for one connection on one thread at a time.
final class RequestState: @unchecked Sendable {
    let method: String
    let url: String
    let started = ContinuousClock.now
    /// The request's header fields, collected once from MHD when they are complete.
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var bodyTooLarge = false
    /// Body bytes received so far (kept or dropped).
    var received = 0
    var responded = false
    var status = 0
    var routeName = "-"
    /// A response the handler will give later; the connection is suspended until then.
    var pending: PendingResponse?
    /// The socket went to `DirectDelivery`: after the resume, MHD closes the connection.
    var takenOver = false

    init(method: String, url: String) {
        self.method = method
        self.url = url
    }
}
