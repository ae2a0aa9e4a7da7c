import CShims
import Foundation
import Glibc
import Logging
import SharecastSync

/// Sends established streaming responses itself, on one thread with its own epoll set, after
/// libmicrohttpd parsed their requests (`HTTPServer.Configuration.directStreams`).
///
/// Why: through MHD's content-reader callbacks every viewer costs a resume, a callback, a copy
/// into MHD's per-connection buffer and a send of at most that buffer per wake, and the resumes
/// are inter-thread writes (docs/performance.md). Here a wake puts the stream on a ready list;
/// the thread sends what the body has, from where it lies (`InPlaceStreamingBody`) or through
/// one shared buffer, so a viewer that keeps up costs one send per wake batch, and a waiting one
/// nothing. A socket that cannot take more is watched for `EPOLLOUT`; a peer that hangs up is
/// seen at once (`EPOLLRDHUP`), not at the next write.
final class DirectDelivery: @unchecked Sendable {
    // `@unchecked Sendable`: `streams` and `scratch` are used only on the delivery thread; the
    // lists other threads add to are behind locks; the descriptors are set once.
    private let epoll: Int32
    private let wakeFD: Int32
    private let logger: Logger
    private let incoming = Locked<[DirectStream]>([])
    private let ready = Locked<[DirectStream]>([])
    private let signalled = Locked<Bool>(false)
    private var streams: [Int32: DirectStream] = [:]
    private let scratch: UnsafeMutableRawBufferPointer
    private var thread: ServiceThread?
    /// Streams adopted and not yet closed, for the server's count and shutdown.
    let open = Locked<[ObjectIdentifier: DirectStream]>([:])

    /// What one read may take from a body: large sends are what make a viewer cheap, and the
    /// socket's buffer bounds what one send takes anyway.
    static let readSize = 128 * 1024

    init?(logger: Logger) {
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { return nil }
        let wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeFD >= 0 else {
            Glibc.close(epoll)
            return nil
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            Glibc.close(epoll)
            Glibc.close(wakeFD)
            return nil
        }
        self.epoll = epoll
        self.wakeFD = wakeFD
        self.logger = logger
        scratch = .allocate(byteCount: Self.readSize, alignment: 64)
    }

    deinit {
        Glibc.close(epoll)
        Glibc.close(wakeFD)
        scratch.deallocate()
    }

    func start() {
        let wakeFD = self.wakeFD
        let thread = ServiceThread(name: "sharecast-delivery", interrupt: { Self.signal(wakeFD) }) { [weak self] thread in
            self?.run(thread)
        }
        self.thread = thread
        thread.start()
    }

    /// Ends every stream (their bodies see `close`) and stops the thread.
    func stop() {
        for stream in open.withLock({ Array($0.values) }) { stream.finish() }
        let deadline = ContinuousClock.now + .seconds(2)
        while open.withLock({ !$0.isEmpty }), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
        thread?.stop()
        // Whatever the thread did not get to (it stopped first): closed here, after it returned.
        for stream in incoming.withLock({ list in defer { list = [] }; return list }) {
            open.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(stream)) }
            stream.close()
        }
        for stream in streams.values { close(stream) }
    }

    /// Takes a stream over from an MHD thread.
    func adopt(_ stream: DirectStream) {
        open.withLock { $0[ObjectIdentifier(stream)] = stream }
        stream.body.opened(stream)
        incoming.withLock { $0.append(stream) }
        poke()
    }

    /// Called by `DirectStream.wake` on any thread.
    func markReady(_ stream: DirectStream) {
        guard !stream.queued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        ready.withLock { $0.append(stream) }
        poke()
    }

    /// One eventfd write per batch of wakes while the thread is busy or asleep.
    private func poke() {
        let first = signalled.withLock { signalled -> Bool in
            defer { signalled = true }
            return !signalled
        }
        if first { Self.signal(wakeFD) }
    }

    private static func signal(_ fd: Int32) {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    private func run(_ thread: ServiceThread) {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !thread.isStopping {
            let count = epoll_wait(epoll, events, Int32(capacity), 1000)
            if count < 0, errno != EINTR { break }
            for index in 0..<max(Int(count), 0) {
                let event = events[index]
                let fd = event.data.fd
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                    continue
                }
                guard let stream = streams[fd] else { continue }
                if event.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 {
                    close(stream)
                    continue
                }
                if event.events & EPOLLOUT.rawValue != 0 {
                    stream.writable = true
                    serve(stream)
                }
            }
            signalled.withLock { $0 = false }
            for stream in incoming.withLock({ list in defer { list = [] }; return list }) { register(stream) }
            // Wakes that come while serving are served in the same turn, a few rounds at most: a
            // stream that always has data and a socket that always takes it must not keep the
            // thread from epoll (new streams, hang-ups). What is left waits for the next turn,
            // which the eventfd its wake wrote starts at once.
            for _ in 0..<4 {
                let turn = ready.withLock { list in defer { list = [] }; return list }
                if turn.isEmpty { break }
                for stream in turn {
                    stream.queued.store(false, ordering: .releasing)
                    if streams[stream.socket] === stream { serve(stream) }
                }
            }
        }
    }

    private func register(_ stream: DirectStream) {
        // MHD's socket is non-blocking already (the flag belongs to the socket, shared by the
        // duplicate); set again in case a build of MHD does otherwise.
        _ = shim_set_nonblocking(stream.socket)
        var event = epoll_event()
        event.events = EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.fd = stream.socket
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, stream.socket, &event) == 0 else {
            logger.warning("a stream's socket could not be watched; it is closed", metadata: ["errno": "\(errno)"])
            stream.close()
            open.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(stream)) }
            return
        }
        streams[stream.socket] = stream
        serve(stream)
    }

    /// Sends what is pending, then what the body has, until the socket is full, the body waits
    /// or ends, or the stream has had its share of this round.
    private func serve(_ stream: DirectStream) {
        if stream.finishing.load(ordering: .acquiring) {
            close(stream)
            return
        }
        guard stream.writable else { return }
        var budget = 4 * Self.readSize
        while budget > 0 {
            if stream.headSent < stream.head.count {
                guard send(stream, from: &stream.head, sent: &stream.headSent) else { return }
                continue
            }
            if stream.pendingSent < stream.pending.count {
                guard send(stream, from: &stream.pending, sent: &stream.pendingSent) else { return }
                stream.pending.removeAll(keepingCapacity: false)
                stream.pendingSent = 0
                continue
            }
            if let inPlace = stream.inPlace {
                guard sendInPlace(stream, inPlace) else { return }
                budget -= Self.readSize / 4
                continue
            }
            switch stream.body.read(into: scratch, waker: stream) {
            case let .bytes(count) where count > 0:
                budget -= count
                let taken = transmit(stream, UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                stream.bytesSent += Int64(taken)
                if stream.failed {
                    close(stream)
                    return
                }
                guard taken < count else { continue }
                stream.pending = Array(UnsafeRawBufferPointer(rebasing: scratch[taken..<count]))
                stream.pendingSent = 0
                return
            case .bytes, .wait:
                return
            case .end:
                stream.endedByBody = true
                close(stream)
                return
            }
        }
        // Its share of this round is used: again after the others.
        markReady(stream)
    }

    /// One in-place send from the body; true when the stream can take more at once.
    private func sendInPlace(_ stream: DirectStream, _ body: any InPlaceStreamingBody) -> Bool {
        let result = body.send({ bytes in transmit(stream, bytes) }, waker: stream)
        switch result {
        case let .bytes(count):
            stream.bytesSent += Int64(count)
            if stream.failed {
                close(stream)
                return false
            }
            return stream.writable
        case .wait:
            return false
        case .end:
            stream.endedByBody = true
            close(stream)
            return false
        }
    }

    /// Sends `bytes[sent...]`; true when all of it went.
    private func send(_ stream: DirectStream, from bytes: inout [UInt8], sent: inout Int) -> Bool {
        let offset = sent
        sent += bytes.withUnsafeBytes { raw in transmit(stream, UnsafeRawBufferPointer(rebasing: raw[offset...])) }
        if stream.failed { close(stream) }
        return sent == bytes.count
    }

    /// One send: how many bytes the socket took. A full socket (or a partial send) clears
    /// `writable`, so the stream waits for `EPOLLOUT`; any other failure sets `failed`.
    private func transmit(_ stream: DirectStream, _ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        let sent = Glibc.send(stream.socket, base, bytes.count, Int32(MSG_NOSIGNAL))
        if sent < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                stream.writable = false
            } else {
                stream.failed = true
            }
            return 0
        }
        if sent < bytes.count { stream.writable = false }
        return sent
    }

    private func close(_ stream: DirectStream) {
        if streams[stream.socket] === stream {
            _ = epoll_ctl(epoll, EPOLL_CTL_DEL, stream.socket, nil)
            streams[stream.socket] = nil
        }
        guard open.withLock({ $0.removeValue(forKey: ObjectIdentifier(stream)) }) != nil else { return }
        stream.close()
    }
}
