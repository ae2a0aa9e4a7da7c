#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as 16 bytes (IPv4 as `::ffff:a.b.c.d`), so one comparison serves both
/// families and a client reaching an IPv6 socket over IPv4 matches IPv4 rules.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Parses a textual address (`203.0.113.7`, `2001:db8::1`, `::ffff:10.0.0.1`); nil when it is not one.
    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        let parsed: IPAddress?
        if inet_pton(AF_INET, text, &v4) == 1 {
            parsed = withUnsafeBytes(of: &v4) { IPAddress(networkOrder: $0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            parsed = withUnsafeBytes(of: &v6) { IPAddress(networkOrder: $0) }
        } else {
            parsed = nil
        }
        guard let parsed else { return nil }
        self = parsed
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// An address from its bytes in network order: 4 for IPv4, 16 for IPv6; nil for any other
    /// count. For addresses the kernel hands over (`sockaddr`), without going through text.
    public init?(networkOrder raw: UnsafeRawBufferPointer) {
        switch raw.count {
        case 4: bytes = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, raw[0], raw[1], raw[2], raw[3]]
        case 16: bytes = Array(raw)
        default: return nil
        }
    }

    public var isIPv4: Bool { bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF }

    /// Loopback, private (RFC 1918, unique-local), link-local, unspecified, carrier-grade NAT and
    /// other non-public ranges: where a server-side fetch must not go by default (SSRF).
    ///
    /// IPv6 forms that carry an IPv4 address (IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`
    /// and `64:ff9b:1::/48`, 6to4 `2002::/16`) are judged by that address too: `[::127.0.0.1]`
    /// and `[64:ff9b::7f00:1]` reach loopback as surely as `127.0.0.1` does.
    public var isPrivateOrLocal: Bool {
        if Self.nonPublic.contains(where: { $0.contains(self) }) { return true }
        return embeddedIPv4?.isPrivateOrLocal ?? false
    }

    /// The IPv4 address an IPv6 transition form carries, if it is one.
    var embeddedIPv4: IPAddress? {
        guard !isIPv4 else { return nil }
        func v4(_ four: ArraySlice<UInt8>) -> IPAddress { IPAddress(bytes: [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + four) }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return v4(bytes[12..<16]) }
        if Self.nat64.contains(where: { $0.contains(self) }) { return v4(bytes[12..<16]) }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return v4(bytes[2..<6]) }
        return nil
    }

    static let nat64: [CIDR] = (["64:ff9b::/96", "64:ff9b:1::/48"] as [String]).compactMap { CIDR($0) }

    static let nonPublic: [CIDR] = ([
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "100::/64", "2001:db8::/32", "64:ff9b:1::/48",
    ] as [String]).compactMap { CIDR($0) }

    public var description: String {
        if isIPv4 { return bytes[12...].map(String.init).joined(separator: ".") }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), or one address without a prefix.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    /// Prefix length over the 16-byte form (an IPv4 `/8` is 104 here).
    let prefix: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.isIPv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...maximum).contains(given), !parts[1].hasPrefix("+") else { return nil }
            length = given
        }
        prefix = length + (address.isIPv4 ? 96 : 0)
        network = IPAddress(bytes: Self.masked(address.bytes, prefix))
        description = text
    }

    public func contains(_ address: IPAddress) -> Bool {
        Self.masked(address.bytes, prefix) == network.bytes
    }

    static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = min(max(prefix - index * 8, 0), 8)
            return bits == 8 ? byte : byte & ~(0xFF >> bits)
        }
    }
}
