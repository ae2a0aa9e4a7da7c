#if canImport(Glibc)
import Glibc
#endif
import Logging
import SharecastSync
import Synchronization

/// Answers HDHomeRun discover requests on UDP (port 65001 by default): what Plex, Emby, Jellyfin
/// and Channels DVR broadcast to find tuners. Each request that matches one of our devices (a
/// wildcard or its id, device type tuner or wildcard) gets one reply per matching device, sent
/// back to the asking address only. Malformed packets are counted and dropped, costing nothing else.
public final class DiscoveryResponder: Sendable {
    /// A device we announce: the whole catalog, or one filtered lineup under `path`.
    public struct Device: Sendable, Equatable {
        public var id: HDHomeRunDeviceID
        /// "" for the main device, `/hdhr/<name>` for a lineup.
        public var path: String
        public var deviceAuth: String

        public init(id: HDHomeRunDeviceID, path: String, deviceAuth: String) {
            self.id = id
            self.path = path
            self.deviceAuth = deviceAuth
        }
    }

    /// Packets seen since start, by what became of them.
    public struct Counts: Sendable, Equatable {
        public var answered = 0
        public var malformed = 0
        /// Well-formed requests for another device or device type.
        public var ignored = 0
    }

    private let socket: UDPSocket
    /// A socket pair whose write end `stop()` writes to, waking the thread out of `poll`.
    private let wakePipe: (read: Int32, write: Int32)
    private let thread: ServiceThread
    private let counts = Locked(Counts())

    public var port: Int { socket.port }
    public var figures: Counts { counts.withLock { $0 } }

    /// Binds at once (so a port in use is reported at start); answers after `start()`.
    /// `baseURL(localAddress)` is the base of the announced URLs for a request that arrived for
    /// `localAddress` (the address replies go out from); `tunerCount(id)` is read per reply.
    public init(listen: String, port: Int, devices: [Device], baseURL: @escaping @Sendable (String) -> String,
                tunerCount: @escaping @Sendable (HDHomeRunDeviceID) -> Int, logger: Logger) throws(UDPSocketError) {
        let socket = try UDPSocket(bindTo: listen, port: port)
        var ends: [Int32] = [0, 0]
        let kind = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &ends) == 0 else { throw UDPSocketError(description: "socketpair: \(String(cString: strerror(errno)))") }
        let wakePipe = (read: ends[0], write: ends[1])
        self.socket = socket
        self.wakePipe = wakePipe
        let counts = self.counts
        thread = ServiceThread(name: "sharecast-hdhomerun-discovery", interrupt: {
            var one: UInt8 = 1
            _ = write(wakePipe.write, &one, 1)
        }) { thread in
            var descriptors = [pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
            while !thread.isStopping {
                guard poll(&descriptors, 2, -1) >= 0 || errno == EINTR else { break }
                if descriptors[1].revents != 0 { continue } // stop() was called: the loop condition ends it
                while let datagram = socket.receive(capacity: DiscoveryPacket.maxRequestBytes) {
                    let request: DiscoveryPacket.Request
                    do {
                        guard !datagram.truncated else {
                            throw DiscoveryPacketError(offset: DiscoveryPacket.maxRequestBytes, reason: "longer than \(DiscoveryPacket.maxRequestBytes) bytes")
                        }
                        request = try DiscoveryPacket.parseRequest(datagram.bytes)
                    } catch {
                        let total = counts.withLock { counts in
                            counts.malformed += 1
                            return counts.malformed
                        }
                        // The first few are logged, then every thousandth: a flood must not flood the log.
                        if total <= 5 || total.isMultiple(of: 1000) {
                            logger.info("malformed HDHomeRun discovery packet dropped", metadata: [
                                "from": "\(UDPSocket.ipv4Text(datagram.from.sin_addr) ?? "?")", "error": "\(error)", "malformed_so_far": "\(total)",
                            ])
                        }
                        continue
                    }
                    let matching = devices.filter { request.matches(deviceID: $0.id.value) }
                    guard !matching.isEmpty else {
                        counts.withLock { $0.ignored += 1 }
                        continue
                    }
                    let base = baseURL(UDPSocket.localAddress(toward: datagram.from) ?? listen)
                    for device in matching {
                        let reply = DiscoveryPacket.Reply(deviceID: device.id, tunerCount: tunerCount(device.id), baseURL: base + device.path,
                                                          lineupURL: base + device.path + "/lineup.json", deviceAuth: device.deviceAuth)
                        socket.send(DiscoveryPacket.encodeReply(reply), to: datagram.from)
                    }
                    counts.withLock { $0.answered += 1 }
                }
            }
        }
    }

    deinit {
        close(wakePipe.read)
        close(wakePipe.write)
    }

    public func start() { thread.start() }
    public func stop() { thread.stop() }
}
