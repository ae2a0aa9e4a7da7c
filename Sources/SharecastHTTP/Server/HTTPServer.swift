import CMicroHTTPD
import CShims
import Foundation
import Logging
import SharecastCore
import Synchronization
import SharecastSync

/// The HTTP server: the one owner of a libmicrohttpd daemon.
///
/// MHD runs its own epoll threads; handlers are called on them and must not block for long.
/// Streaming responses park their connection while they wait for data (see `StreamingBody`), so an
/// idle viewer costs no thread. `shutdown()` stops accepting, ends every stream, waits briefly for
/// them to close, and stops the daemon; `deinit` does the same if it was not called.
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var listen = "127.0.0.1"
        /// 0 asks the system for a free port; `HTTPServer.port` then tells which.
        public var port = 0
        /// MHD worker threads, each with its own epoll loop.
        public var threads = 2
        public var connectionLimit = 20_000
        /// Seconds without socket progress before MHD closes a connection: idle keep-alive
        /// connections and ones that never sent a request. Streaming responses get
        /// `streamTimeout` instead (and parked ones none: their body decides).
        public var connectionTimeout = 30
        /// The idle timeout of a connection once it carries a streaming response.
        public var streamTimeout = 300
        /// Open connections one client address may hold (0: no cap); `exemptFromAddressCap`
        /// addresses (loopback, trusted proxies) have none. A flood of idle sockets from one
        /// address could otherwise use every descriptor under a low `ulimit -n`.
        public var maxConnectionsPerAddress = 0
        public var exemptFromAddressCap: [CIDR] = []
        public var maxRequestBodyBytes = 1 << 20
        /// Told about every request once its response is queued: route name, status, and the time
        /// from the request's arrival to then (for streams: to the start of the stream).
        public var observer: (@Sendable (_ route: String, _ status: Int, _ seconds: Double) -> Void)?
        /// The size of each streaming response's send buffer; it bounds memory per viewer and sets
        /// how much one send() moves. Measured with 500 viewers at 8 Mbit/s: 16 KiB cost 53% of a
        /// core (twice the sends), 32 KiB 36% at 54 KB of RSS per viewer, 64 KiB no less CPU at 86 KB.
        public var streamBlockSize = 32 * 1024
        /// Streaming responses to GET are sent by Sharecast's own delivery thread on the socket
        /// libmicrohttpd accepted and parsed (`DirectDelivery`), not through MHD's callbacks.
        public var directStreams = false

        public init(listen: String = "127.0.0.1", port: Int = 0) {
            self.listen = listen
            self.port = port
        }
    }

    public let configuration: Configuration
    /// The bound port (useful after asking for port 0).
    public let port: Int
    let context: ServerContext
    private let daemon: Locked<DaemonHandle?>

    public init(configuration: Configuration, router: Router, logger: Logger) throws(HTTPServerError) {
        self.configuration = configuration
        let context = ServerContext(router: router, logger: logger, configuration: configuration)
        self.context = context
        guard let address = SocketAddress(host: configuration.listen, port: configuration.port) else {
            throw .badListenAddress(configuration.listen)
        }
        let flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_TURBO.rawValue
        // The context is passed unretained: `self` holds it and stops the daemon before releasing it.
        let opaqueContext = Unmanaged.passUnretained(context).toOpaque()
        let started: OpaquePointer? = address.withSockaddr { sockaddr in
            errno = 0
            return shim_mhd_start(
                UInt32(flags), sockaddr, UInt32(configuration.connectionLimit), UInt32(configuration.connectionTimeout),
                UInt32(max(configuration.threads, 1)), 32 * 1024,
                ServerCallbacks.access, opaqueContext, ServerCallbacks.completed, opaqueContext,
                ServerCallbacks.acceptPolicy, opaqueContext, ServerCallbacks.notifyConnection, opaqueContext
            )
        }
        guard let started else {
            let reason = errno != 0 ? String(cString: strerror(errno)) : "libmicrohttpd refused to start"
            throw .cannotListen(address: configuration.listen, port: configuration.port, reason: reason)
        }
        daemon = Locked(DaemonHandle(pointer: started))
        port = Int(shim_mhd_bound_port(started))
        context.delivery?.start()
    }

    /// Connections open from `address` (counted only while a per-address cap is set).
    public func openConnections(from address: String) -> Int {
        guard let address = IPAddress(address) else { return 0 }
        return context.connectionsByAddress.withLock { $0[address] ?? 0 }
    }

    /// Streaming responses currently open.
    public var openStreams: Int { context.streams.withLock { $0.count } + (context.delivery?.open.withLock { $0.count } ?? 0) }

    /// Stops accepting new connections; requests already in progress carry on. Safe to call more
    /// than once, and before `shutdown()`.
    public func stopAccepting() {
        daemon.withLock { current in
            guard var handle = current, handle.listenSocket < 0 else { return }
            context.isStopping.store(true, ordering: .releasing)
            handle.listenSocket = MHD_quiesce_daemon(handle.pointer)
            current = handle
        }
    }

    /// Stops accepting, ends open streams (their bodies see `close`), waits up to `grace` for them
    /// to leave, then stops the daemon. Safe to call more than once.
    public func shutdown(grace: Duration = .seconds(3)) {
        stopAccepting()
        guard let handle = daemon.withLock({ current -> DaemonHandle? in
            defer { current = nil }
            return current
        }) else { return }
        let running = handle.pointer
        let listenSocket = handle.listenSocket
        for stream in context.streams.withLock({ Array($0.values) }) {
            stream.finish()
        }
        // Direct streams end first: each resumes its suspended connection for MHD to close.
        context.delivery?.stop()
        // A suspended connection must be resumed before the daemon stops.
        for pending in context.pendings.withLock({ Array($0.values) }) {
            pending.abandon(answering: .error(status: 503, code: "shutting_down", message: "the server is stopping"))
        }
        let deadline = ContinuousClock.now + grace
        while context.streams.withLock({ !$0.isEmpty }), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        MHD_stop_daemon(running)
        if listenSocket >= 0 { close(listenSocket) }
    }

    deinit {
        shutdown(grace: .zero)
    }
}

/// The daemon pointer, owned by `HTTPServer` and only used under its lock.
struct DaemonHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The listening socket once `MHD_quiesce_daemon` handed it back; closed after the daemon stops.
    var listenSocket: Int32 = -1
}

/// What the C callbacks need: shared by all MHD threads, so everything mutable is behind a lock.
final class ServerContext: Sendable {
    let router: Router
    let logger: Logger
    let configuration: HTTPServer.Configuration
    let isStopping = Atomic<Bool>(false)
    let streams = Locked<[ObjectIdentifier: StreamConnection]>([:])
    /// Open connections per client address, for `maxConnectionsPerAddress`.
    let connectionsByAddress = Locked<[IPAddress: Int]>([:])
    /// Responses not decided yet, their connections suspended; resolved with 503 at shutdown.
    let pendings = Locked<[ObjectIdentifier: PendingResponse]>([:])
    /// With `directStreams`: the thread that sends streaming responses.
    let delivery: DirectDelivery?
    let dates = DateHeaderCache()

    init(router: Router, logger: Logger, configuration: HTTPServer.Configuration) {
        self.router = router
        self.logger = logger
        self.configuration = configuration
        delivery = configuration.directStreams ? DirectDelivery(logger: logger) : nil
        if configuration.directStreams, delivery == nil {
            logger.warning("the direct stream delivery could not be set up (epoll, eventfd); streams go through libmicrohttpd")
        }
    }
}
