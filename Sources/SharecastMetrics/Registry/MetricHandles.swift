import Synchronization

/// A monotonically increasing count that the hot path bumps with one atomic add: no lock, no
/// allocation. Integer-valued, which every Sharecast counter is (bytes, packets, events).
public final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)
    /// When the series began, for OpenMetrics' `_created`.
    public let created: Double
    let renderedCreated: RenderedNumber

    public init(created: Double) {
        self.created = created
        renderedCreated = RenderedNumber(created)
    }

    @inlinable
    public func increment() { add(1) }

    public func add(_ amount: UInt64) {
        value.wrappingAdd(amount, ordering: .relaxed)
    }

    public var current: UInt64 { value.load(ordering: .relaxed) }
}

/// A value that goes up and down, stored as the bits of a Double in one atomic.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0.0.bitPattern)

    public init() {}

    public func set(_ value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    public func add(_ delta: Double) {
        var old = bits.load(ordering: .relaxed)
        while true {
            let (exchanged, original) = bits.compareExchange(
                expected: old, desired: (Double(bitPattern: old) + delta).bitPattern, ordering: .relaxed
            )
            if exchanged { return }
            old = original
        }
    }

    public var current: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// Observations counted into fixed buckets, each an atomic; the sum is a Double updated with a
/// compare-and-swap loop. Used per request or per viewer, never per packet.
public final class Histogram: Sendable {
    final class Bucket: Sendable {
        let count = Atomic<UInt64>(0)
    }

    /// Upper bounds, ascending, without +Inf (which is implied).
    public let bounds: [Double]
    let renderedBounds: HistogramBounds
    private let buckets: [Bucket]
    private let sum = Gauge()
    private let total = Atomic<UInt64>(0)
    public let created: Double
    let renderedCreated: RenderedNumber

    public init(bounds: [Double], created: Double) {
        self.bounds = bounds.sorted()
        renderedBounds = HistogramBounds(self.bounds)
        buckets = (0...bounds.count).map { _ in Bucket() }
        self.created = created
        renderedCreated = RenderedNumber(created)
    }

    public func observe(_ value: Double) {
        var low = 0, high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if value <= bounds[middle] { high = middle } else { low = middle + 1 }
        }
        buckets[low].count.wrappingAdd(1, ordering: .relaxed)
        total.wrappingAdd(1, ordering: .relaxed)
        sum.add(value)
    }

    /// Cumulative counts per bound, then the +Inf count; with the sum.
    public var snapshot: (cumulative: [UInt64], count: UInt64, sum: Double) {
        var running: UInt64 = 0
        var cumulative: [UInt64] = []
        for bucket in buckets {
            running += bucket.count.load(ordering: .relaxed)
            cumulative.append(running)
        }
        return (cumulative, running, sum.current)
    }
}
