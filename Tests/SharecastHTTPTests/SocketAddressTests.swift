import Glibc
import SharecastCore
import Testing
@testable import SharecastHTTP

/// The accept policy reads a client's address from the kernel's `sockaddr` bytes; it must be the
/// same address the text form parses to, or the per-address cap and its exemptions would miss.
@Suite struct SocketAddressTests {
    /// `address` (a `sockaddr_in` or `sockaddr_in6`) read as the kernel's socket address of `length` bytes.
    static func read<Address>(_ address: Address, length: Int = MemoryLayout<Address>.size) -> IPAddress? {
        withUnsafeBytes(of: address) { raw in
            raw.withMemoryRebound(to: sockaddr.self) { kernel in
                kernel.baseAddress.flatMap { IPAddress(socketAddress: $0, length: socklen_t(length)) }
            }
        }
    }

    @Test func ipv4AndIPv6SocketAddressesMatchTheirTextForms() throws {
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        #expect(inet_pton(AF_INET, "203.0.113.7", &v4.sin_addr) == 1)
        let fromV4 = Self.read(v4)
        #expect(fromV4 == IPAddress("203.0.113.7"))
        #expect(fromV4?.description == "203.0.113.7")

        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        #expect(inet_pton(AF_INET6, "2001:db8::42", &v6.sin6_addr) == 1)
        #expect(Self.read(v6) == IPAddress("2001:db8::42"))
    }

    @Test func aShortOrForeignSocketAddressIsNoAddress() {
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        #expect(Self.read(v4, length: 4) == nil)
        var unix = sockaddr()
        unix.sa_family = sa_family_t(AF_UNIX)
        #expect(Self.read(unix) == nil)
    }
}
