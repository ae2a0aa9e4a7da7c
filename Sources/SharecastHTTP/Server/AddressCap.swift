import CMicroHTTPD
import CShims
import Glibc
import SharecastCore

/// One connection's client address, kept in MHD's socket context from start to close so the
/// per-address count goes down exactly once.
final class CountedAddress {
    let address: IPAddress

    init(_ address: IPAddress) {
        self.address = address
    }
}

extension ServerCallbacks {
    /// MHD asks before accepting: a client address at `maxConnectionsPerAddress` is refused (the
    /// socket is closed at once) unless it is exempt.
    static let acceptPolicy: MHD_AcceptPolicyCallback = { cls, address, length in
        guard let cls, let address else { return MHD_Result.YES }
        let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
        let cap = server.configuration.maxConnectionsPerAddress
        guard cap > 0, let client = IPAddress(socketAddress: address, length: length) else { return MHD_Result.YES }
        if server.configuration.exemptFromAddressCap.contains(where: { $0.contains(client) }) { return MHD_Result.YES }
        let open = server.connectionsByAddress.withLock { $0[client] ?? 0 }
        return open < cap ? MHD_Result.YES : MHD_Result.NO
    }

    static let notifyConnection: MHD_NotifyConnectionCallback = { cls, connection, socketContext, code in
        guard let cls, let socketContext else { return }
        let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
        guard server.configuration.maxConnectionsPerAddress > 0 else { return }
        switch code {
        case .CONNECTION_NOTIFY_STARTED:
            guard let connection, let client = server.clientIPAddress(connection) else { return }
            server.connectionsByAddress.withLock { $0[client, default: 0] += 1 }
            socketContext.pointee = Unmanaged.passRetained(CountedAddress(client)).toOpaque()
        case .CONNECTION_NOTIFY_CLOSED:
            guard let pointer = socketContext.pointee else { return }
            socketContext.pointee = nil
            let counted = Unmanaged<CountedAddress>.fromOpaque(pointer).takeRetainedValue()
            server.connectionsByAddress.withLock { table in
                let left = (table[counted.address] ?? 1) - 1
                table[counted.address] = left > 0 ? left : nil
            }
        default:
            return
        }
    }
}

extension ServerContext {
    /// The peer's address as the kernel gave it; nil for a family other than IPv4 and IPv6.
    func clientIPAddress(_ connection: OpaquePointer) -> IPAddress? {
        var length = socklen_t(0)
        guard let address = shim_mhd_client_sockaddr(connection, &length) else { return nil }
        return IPAddress(socketAddress: address, length: length)
    }

    /// The peer's address as text (an IPv4-mapped one as plain IPv4), or "" without one.
    func clientAddress(_ connection: OpaquePointer) -> String {
        clientIPAddress(connection)?.description ?? ""
    }
}

extension IPAddress {
    /// The address of a socket address from the kernel (IPv4 or IPv6), read from its bytes: this
    /// runs for every accepted connection, so it does not go through text and back.
    init?(socketAddress: UnsafePointer<sockaddr>, length: socklen_t) {
        let parsed: IPAddress?
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET where length >= socklen_t(MemoryLayout<sockaddr_in>.size):
            let address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            parsed = withUnsafeBytes(of: address) { IPAddress(networkOrder: $0) }
        case AF_INET6 where length >= socklen_t(MemoryLayout<sockaddr_in6>.size):
            let address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            parsed = withUnsafeBytes(of: address) { IPAddress(networkOrder: $0) }
        default:
            parsed = nil
        }
        guard let parsed else { return nil }
        self = parsed
    }
}
