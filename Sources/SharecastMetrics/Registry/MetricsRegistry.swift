import Foundation
import Synchronization

/// Every metric Sharecast exposes: static handles registered once with their labels (bumped by
/// the code that owns the figure), plus collectors that build families from snapshots at scrape
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
        var series: [(labels: [(String, String)], handle: Handle)]
    }

    public typealias Collector = @Sendable () -> [MetricFamily]

    private let registered = Mutex<[Registered]>([])
    private let collectors = Mutex<[Collector]>([])
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
                if let series = families[index].series.first(where: { $0.labels.elementsEqual(labels) { $0 == $1 } }) {
                    return existing(series.handle)
                }
                families[index].series.append((labels, handle))
                return nil
            }
            families.append(Registered(name: name, kind: kind, help: help, unit: unit, series: [(labels, handle)]))
            return nil
        }
    }

    /// Every family with its current values.
    public func collect() -> [MetricFamily] {
        let fixed = registered.withLock { $0 }.map { family in
            MetricFamily(name: family.name, kind: family.kind, help: family.help, unit: family.unit, series: family.series.map { entry in
                switch entry.handle {
                case let .counter(counter):
                    MetricFamily.Series(labels: entry.labels, value: .counter(Double(counter.current), created: counter.created))
                case let .gauge(gauge):
                    MetricFamily.Series(labels: entry.labels, value: .gauge(gauge.current))
                case let .histogram(histogram):
                    {
                        let snapshot = histogram.snapshot
                        return MetricFamily.Series(labels: entry.labels, value: .histogram(
                            bounds: histogram.bounds, cumulative: snapshot.cumulative, sum: snapshot.sum, created: histogram.created
                        ))
                    }()
                case .info:
                    MetricFamily.Series(labels: entry.labels, value: .info)
                }
            })
        }
        let dynamic = collectors.withLock { $0 }.flatMap { $0() }
        return fixed + dynamic
    }
}
