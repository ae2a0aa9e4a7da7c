#if canImport(Glibc)
import Glibc
#endif

/// Why the discovery socket could not be opened.
public struct UDPSocketError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The one owner of an IPv4 UDP socket's descriptor (closed in `deinit`).
final class UDPSocket: @unchecked Sendable {
    // @unchecked: `descriptor` never changes after init; the kernel serialises calls on it.
    let descriptor: Int32

    init(bindTo address: String, port: Int) throws(UDPSocketError) {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        guard (0...65535).contains(port) else { throw UDPSocketError(description: "port \(port) is out of range") }
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
            throw UDPSocketError(description: "\(address) is not an IPv4 address (HDHomeRun discovery is IPv4)")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw UDPSocketError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw UDPSocketError(description: "cannot bind UDP \(address):\(port): \(reason)")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// The bound port.
    var port: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return result == 0 ? Int(UInt16(bigEndian: address.sin_port)) : 0
    }

    /// One datagram (at most `capacity` bytes; longer ones are cut, and reported as such by their
    /// length) and its sender, or nil when nothing is waiting.
    func receive(capacity: Int) -> (bytes: [UInt8], truncated: Bool, from: sockaddr_in)? {
        var buffer = [UInt8](repeating: 0, count: capacity + 1)
        var sender = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &sender) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &length) }
            }
        }
        guard count >= 0 else { return nil }
        return (Array(buffer.prefix(min(count, capacity))), count > capacity, sender)
    }

    func send(_ bytes: [UInt8], to address: sockaddr_in) {
        var address = address
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    /// The local IPv4 address the kernel would send to `peer` from: the address to put in the
    /// URLs of a reply to it. A connected UDP socket sends nothing; it only picks a route.
    static func localAddress(toward peer: sockaddr_in) -> String? {
        let probe = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return nil }
        defer { close(probe) }
        var peer = peer
        let connected = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) }
        }
        guard named == 0 else { return nil }
        return ipv4Text(local.sin_addr)
    }

    static func ipv4Text(_ address: in_addr) -> String? {
        var address = address
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &address, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
