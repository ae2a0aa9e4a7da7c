import Foundation

/// A blocking TCP client on 127.0.0.1, for tests that need the raw bytes of a response (and to
/// read only part of an endless one, then hang up).
final class LoopbackSocket {
    private(set) var descriptor: Int32

    /// `source`: another loopback address to connect from (127.0.0.2, ...), as a second device would.
    init(port: Int, receiveTimeoutSeconds: Int = 10, receiveBufferBytes: Int32? = nil, source: String? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(descriptor)
                throw POSIXError(.init(rawValue: errno) ?? .EADDRNOTAVAIL)
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: receiveTimeoutSeconds == 0 ? 200_000 : 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A send to a server that stopped reading fails after as long, instead of blocking.
        var sendTimeout = timeval(tv_sec: max(receiveTimeoutSeconds, 1), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBufferBytes {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw POSIXError(.init(rawValue: errno) ?? .ECONNREFUSED)
        }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        // MSG_NOSIGNAL: a closed peer is an error here, not a SIGPIPE that ends the test process.
        guard bytes.withUnsafeBytes({ Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw POSIXError(.EIO)
        }
    }

    /// One `recv`: bytes read, 0 at the end of the stream, nil when the timeout passed with nothing.
    func receiveSome(into chunk: inout [UInt8]) throws -> Int? {
        let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if received < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return nil }
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        return received
    }

    /// Reads until `count` bytes have arrived or the peer closes.
    func receive(atLeast count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if received < 0 { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            if received == 0 { break }
            result += chunk[0..<received]
        }
        return result
    }

    /// Closes the socket now, as a player does when it stops watching: the server's next write
    /// gets a reset. (A `shutdown` alone leaves a half-open socket whose kernel still takes the
    /// server's bytes, which the server may rightly keep sending for many seconds.)
    func hangUp() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }
}
