import Foundation
import Synchronization
import SharecastSync

/// A body whose bytes take a while to produce (probing an upstream for a few seconds): the work
/// runs on its own thread and the connection stays parked, costing no server thread, until the
/// bytes are ready.
public final class DeferredBody: StreamingBody, Sendable {
    struct State {
        var bytes: [UInt8]?
        var offset = 0
        var waker: (any ResponseWaker)?
    }

    final class Box: Sendable {
        let state = Locked(State())
    }

    private let box = Box()

    /// Blocking work (a probe's transfer of a few seconds) runs here, never on a server thread
    /// or Swift's cooperative pool; the queue's threads come and go with the work.
    static let workers = DispatchQueue(label: "sharecast.deferred", qos: .utility, attributes: .concurrent)

    /// Starts `work` on the workers' queue; its result is the body.
    public init(name: String = "sharecast-deferred", _ work: @escaping @Sendable () -> [UInt8]) {
        Self.workers.async { [box] in
            let bytes = work()
            let waker = box.state.withLock { state -> (any ResponseWaker)? in
                state.bytes = bytes
                return state.waker
            }
            waker?.wake()
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead {
        box.state.withLock { state in
            guard let bytes = state.bytes else {
                state.waker = waker
                return .wait
            }
            guard state.offset < bytes.count else { return .end }
            let count = min(buffer.count, bytes.count - state.offset)
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[state.offset..<state.offset + count]))
            }
            state.offset += count
            return .bytes(count)
        }
    }

    public func close(bytesSent: Int64, completed: Bool) {
        box.state.withLock { $0.waker = nil }
    }
}
