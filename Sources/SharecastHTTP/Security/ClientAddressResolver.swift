import SharecastCore

/// Who the client is: the peer's address, or, when the peer is a trusted reverse proxy, the
/// address it reports in `X-Forwarded-For`.
///
/// The header is read from the right, skipping trusted proxies, and the first address that is not
/// one of them is the client: entries further left were written by the client itself and prove
/// nothing. From an untrusted peer the header is ignored entirely.
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: [CIDR]

    public init(trustedProxies: [CIDR]) {
        self.trustedProxies = trustedProxies
    }

    public func resolve(peer: String, forwardedFor: String?) -> String {
        // Without trusted proxies (the default) the peer is the client: nothing to parse.
        guard !trustedProxies.isEmpty, let forwardedFor, let peerAddress = IPAddress(peer), isTrusted(peerAddress) else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { return peer }
            if !isTrusted(address) { return address.description }
        }
        return hops.first.flatMap { IPAddress($0)?.description } ?? peer
    }

    func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }
}

/// `allow` and `deny` CIDR lists: deny wins; an empty allow list allows everyone else.
public struct AccessList: Sendable {
    public let allow: [CIDR]
    public let deny: [CIDR]

    public init(allow: [CIDR], deny: [CIDR]) {
        self.allow = allow
        self.deny = deny
    }

    public func permits(_ address: String) -> Bool {
        guard let ip = IPAddress(address) else { return allow.isEmpty && deny.isEmpty }
        if deny.contains(where: { $0.contains(ip) }) { return false }
        return allow.isEmpty || allow.contains { $0.contains(ip) }
    }
}

/// Compares secrets without returning early, so the time taken does not tell an attacker how
/// many leading bytes they guessed right.
public enum ConstantTime {
    public static func equals(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
        for index in 0..<max(left.count, right.count) {
            let x = index < left.count ? left[index] : 0
            let y = index < right.count ? right[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && left.count == right.count
    }

    /// True when `candidate` equals one of `secrets`; every secret is compared.
    public static func matchesAny(_ candidate: String, _ secrets: [String]) -> Bool {
        var found = false
        for secret in secrets where equals(candidate, secret) { found = true }
        return found
    }
}
