import Foundation
import Synchronization
import SharecastSync

/// Token buckets per key (a client IP): `burst` requests at once, refilled at `ratePerSecond`.
///
/// The table is bounded: when it grows past `maxKeys`, buckets that have refilled completely
/// (clients that went quiet) are forgotten, so a scan from many addresses cannot grow it forever.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Double
    }

    public let ratePerSecond: Double
    public let burst: Double
    private let maxKeys: Int
    private let buckets = Locked<[String: Bucket]>([:])
    private let clock: @Sendable () -> Double

    /// `ratePerSecond` 0 disables the limit.
    public init(ratePerSecond: Double, burst: Int, maxKeys: Int = 10_000,
                clock: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.ratePerSecond = ratePerSecond
        self.burst = Double(max(burst, 1))
        self.maxKeys = maxKeys
        self.clock = clock
    }

    /// Takes one token for `key`: nil when allowed, else the whole seconds to wait (for `Retry-After`).
    public func take(_ key: String) -> Int? {
        guard ratePerSecond > 0 else { return nil }
        let now = clock()
        return buckets.withLock { table -> Int? in
            var bucket = table[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * ratePerSecond)
            bucket.updated = now
            defer {
                table[key] = bucket
                if table.count > maxKeys { prune(&table, now: now) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
        }
    }

    /// Seconds until `key` may go again, without taking a token: nil when it may now.
    public func wait(_ key: String) -> Int? {
        guard ratePerSecond > 0 else { return nil }
        let now = clock()
        return buckets.withLock { table -> Int? in
            guard let bucket = table[key] else { return nil }
            let tokens = min(burst, bucket.tokens + (now - bucket.updated) * ratePerSecond)
            return tokens >= 1 ? nil : max(1, Int(((1 - tokens) / ratePerSecond).rounded(.up)))
        }
    }

    private func prune(_ table: inout [String: Bucket], now: Double) {
        table = table.filter { $0.value.tokens + (now - $0.value.updated) * ratePerSecond < burst }
        if table.count > maxKeys { table.removeAll() }
    }
}
