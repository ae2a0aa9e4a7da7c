import Foundation

/// `sum`, `avg`, `count`, `topk`... by or without labels, as the Prometheus engine computes them.
enum Aggregator {
    static func aggregate(_ aggregation: Aggregation, parameter: Double?, _ samples: [Sample], grouping: Grouping?) -> [Sample] {
        var order: [String] = []
        var groups: [String: (labels: Labels, members: [Sample])] = [:]
        // `by (a, b)` keys on those labels' values alone; no grouping is one group; only
        // `without` needs each sample's remaining labels.
        let byNames = grouping.flatMap { $0.without ? nil : $0.labels.filter { $0 != "__name__" } }
        for sample in samples {
            let key: String
            if grouping == nil {
                key = ""
            } else if let byNames {
                var made = ""
                for name in byNames {
                    made += sample.labels[name] ?? ""
                    made += "\u{1}"
                }
                key = made
            } else {
                key = groupLabels(sample.labels, grouping).signature()
            }
            if groups[key] == nil {
                order.append(key)
                groups[key] = (groupLabels(sample.labels, grouping), [])
            }
            groups[key]?.members.append(sample)
        }
        var result: [Sample] = []
        for key in order {
            guard let (labels, members) = groups[key] else { continue }
            let values = members.map(\.value)
            switch aggregation {
            case .sum: result.append(Sample(labels: labels, value: values.reduce(0, +)))
            case .avg: result.append(Sample(labels: labels, value: mean(values)))
            case .count: result.append(Sample(labels: labels, value: Double(values.count)))
            case .group: result.append(Sample(labels: labels, value: 1))
            case .min: result.append(Sample(labels: labels, value: extreme(values, <)))
            case .max: result.append(Sample(labels: labels, value: extreme(values, >)))
            case .stddev: result.append(Sample(labels: labels, value: sqrt(variance(values))))
            case .stdvar: result.append(Sample(labels: labels, value: variance(values)))
            case .quantile: result.append(Sample(labels: labels, value: quantile(parameter ?? .nan, values)))
            case .topk, .bottomk:
                // Go's int64(NaN or ±Inf) is the minimum int64: no result, as here.
                let k = parameter.map { $0.isFinite ? Int(max(-1, min($0, 1e9))) : 0 } ?? 0
                guard k >= 1 else { continue }
                // NaN sorts last for both; ties keep input order.
                let sorted = members.enumerated().sorted { a, b in
                    let (x, y) = (a.element.value, b.element.value)
                    if x.isNaN != y.isNaN { return y.isNaN }
                    if x != y { return aggregation == .topk ? x > y : x < y }
                    return a.offset < b.offset
                }.map(\.element)
                result += sorted.prefix(k)
            }
        }
        return result
    }

    static func groupLabels(_ labels: Labels, _ grouping: Grouping?) -> Labels {
        guard let grouping else { return [:] }
        if grouping.without {
            var copy = labels
            copy["__name__"] = nil
            for name in grouping.labels { copy[name] = nil }
            return copy
        }
        return labels.filter { grouping.labels.contains($0.key) && $0.key != "__name__" }
    }

    /// The running mean Prometheus uses (so large values do not overflow a sum).
    static func mean(_ values: [Double]) -> Double {
        var mean = 0.0, count = 0.0
        for value in values {
            count += 1
            if mean.isInfinite {
                if value.isInfinite, (mean > 0) == (value > 0) { continue }
                if !value.isInfinite, !value.isNaN { continue }
            }
            mean += value / count - mean / count
        }
        return mean
    }

    static func extreme(_ values: [Double], _ better: (Double, Double) -> Bool) -> Double {
        var result = Double.nan
        for value in values where result.isNaN || better(value, result) { result = value }
        return result
    }

    static func variance(_ values: [Double]) -> Double {
        var count = 0.0, mean = 0.0, aux = 0.0
        for value in values {
            count += 1
            let delta = value - mean
            mean += delta / count
            aux += delta * (value - mean)
        }
        return count > 0 ? aux / count : .nan
    }

    /// The φ-quantile with linear interpolation between the two nearest values.
    static func quantile(_ q: Double, _ values: [Double]) -> Double {
        if values.isEmpty || q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        let sorted = values.sorted { a, b in a.isNaN ? false : b.isNaN ? true : a < b }
        let n = Double(sorted.count)
        let rank = q * (n - 1)
        let lower = max(0, floor(rank)), upper = min(n - 1, lower + 1)
        let weight = rank - floor(rank)
        return sorted[Int(lower)] * (1 - weight) + sorted[Int(upper)] * weight
    }
}
