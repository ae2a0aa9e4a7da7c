import Glibc
import SharecastCore
import Testing
@testable import SharecastHTTP

/// The accept policy reads a client's address from the kernel's `sockaddr` bytes; it must be the
/// same address the text form parses to, or the per-address cap and its exemptions would miss.
@Suite struct SocketAddressTests {
    @Test func ipv4AndIPv6SocketAddressesMatchTheirTextForms() throws {
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        #expect(inet_pton(AF_INET, "203.0.113.7", &v4.sin_addr) == 1)
        let fromV4 = withUnsafePointer(to: &v4) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { IPAddress(socketAddress: $0, length: socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(fromV4 == IPAddress("203.0.113.7"))
        #expect(fromV4?.description == "203.0.113.7")

        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        #expect(inet_pton(AF_INET6, "2001:db8::42", &v6.sin6_addr) == 1)
        let fromV6 = withUnsafePointer(to: &v6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { IPAddress(socketAddress: $0, length: socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        #expect(fromV6 == IPAddress("2001:db8::42"))
    }

    @Test func aShortOrForeignSocketAddressIsNoAddress() {
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        let short = withUnsafePointer(to: &v4) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { IPAddress(socketAddress: $0, length: 4) }
        }
        #expect(short == nil)
        var unix = sockaddr()
        unix.sa_family = sa_family_t(AF_UNIX)
        #expect(IPAddress(socketAddress: &unix, length: socklen_t(MemoryLayout<sockaddr>.size)) == nil)
    }
}
