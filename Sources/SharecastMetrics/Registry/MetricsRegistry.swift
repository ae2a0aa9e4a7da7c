import Foundation
import Synchronization
import SharecastSync

/// Every metric Sharecast exposes: static handles registered once with their labels (bumped by
/// the code that owns the figure), plus collectors that write families from snapshots at scrape
/// time (sessions, process, host). Families come out in registration order, collectors after.
public final class MetricsRegistry: Sendable {
    enum Handle: Sendable {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(Histogram)
        case info
    }

    struct Registered: Sendable {
        var name: String
        var kind: MetricFamily.Kind
        var help: String
        var unit: String?
        var series: [(labels: LabelSet, handle: Handle)]
    }

    /// Writes its families into a scrape.
    public typealias Collector = @Sendable (inout MetricsWriter) -> Void

    private let registered = Locked<[Registered]>([])
    private let collectors = Locked<[Collector]>([])
    /// The last scrape's size, so the next one's buffer is allocated once.
    private let lastSize = Atomic<Int>(0)
    private let clock: @Sendable () -> Double

    /// `clock` gives the Unix time used for `_created` (tests pin it).
    public init(clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.clock = clock
    }

    public func counter(_ name: String, help: String, unit: String? = nil, labels: [(String, String)] = []) -> Counter {
        let counter = Counter(created: clock())
        return register(name, .counter, help, unit, labels, .counter(counter), existing: { if case let .counter(found) = $0 { found } else { nil } }) ?? counter
    }

    public func gauge(_ name: String, help: String, unit: String? = nil, labels: [(String, String)] = []) -> Gauge {
        let gauge = Gauge()
        return register(name, .gauge, help, unit, labels, .gauge(gauge), existing: { if case let .gauge(found) = $0 { found } else { nil } }) ?? gauge
    }

    public func histogram(_ name: String, help: String, unit: String? = nil, bounds: [Double], labels: [(String, String)] = []) -> Histogram {
        let histogram = Histogram(bounds: bounds, created: clock())
        return register(name, .histogram, help, unit, labels, .histogram(histogram), existing: { if case let .histogram(found) = $0 { found } else { nil } }) ?? histogram
    }

    /// An info metric: constant labels, value 1.
    public func info(_ name: String, help: String, labels: [(String, String)]) {
        _ = register(name, .info, help, nil, labels, .info, existing: { _ in Optional<Int>.none })
    }

    public func addCollector(_ collector: @escaping Collector) {
        collectors.withLock { $0.append(collector) }
    }

    /// Registers a series, or returns the handle already registered for the same name and labels.
    private func register<T>(
        _ name: String, _ kind: MetricFamily.Kind, _ help: String, _ unit: String?, _ labels: [(String, String)],
        _ handle: Handle, existing: (Handle) -> T?
    ) -> T? {
        registered.withLock { families in
            if let index = families.firstIndex(where: { $0.name == name }) {
                precondition(families[index].kind == kind, "metric \(name) registered twice with different types")
                let labels = LabelSet(labels)
                if let series = families[index].series.first(where: { $0.labels == labels }) {
                    return existing(series.handle)
                }
                families[index].series.append((labels, handle))
                return nil
            }
            families.append(Registered(name: name, kind: kind, help: help, unit: unit, series: [(LabelSet(labels), handle)]))
            return nil
        }
    }

    /// One scrape: every family with its current values, in `format`.
    public func expose(_ format: ExpositionFormat) -> [UInt8] {
        exposition(format).bytes
    }

    /// One scrape, in memory the HTTP layer can send and free without a copy.
    public func exposition(_ format: ExpositionFormat) -> ExposedBytes {
        var writer = MetricsWriter(format: format, capacity: lastSize.load(ordering: .relaxed) + 4096)
        for family in registered.withLock({ $0 }) {
            writer.family(family.name, family.kind, help: family.help, unit: family.unit)
            for (labels, handle) in family.series {
                switch handle {
                case let .counter(counter):
                    writer.counter(labels, counter.current, created: counter.renderedCreated)
                case let .gauge(gauge):
                    writer.gauge(labels, gauge.current)
                case let .histogram(histogram):
                    let snapshot = histogram.snapshot
                    writer.histogram(labels, bounds: histogram.renderedBounds, cumulative: snapshot.cumulative, sum: snapshot.sum,
                                     created: histogram.renderedCreated)
                case .info:
                    writer.info(labels)
                }
            }
        }
        for collector in collectors.withLock({ $0 }) { collector(&writer) }
        let exposed = writer.finish()
        lastSize.store(exposed.count, ordering: .relaxed)
        return exposed
    }

    public func exposeText(_ format: ExpositionFormat) -> String {
        String(decoding: expose(format), as: UTF8.self)
    }
}
