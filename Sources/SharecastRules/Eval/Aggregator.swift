import Foundation

/// `sum`, `avg`, `count`, `topk`... by or without labels, as the Prometheus engine computes them.
enum Aggregator {
    static func aggregate(_ aggregation: Aggregation, parameter: Double?, _ samples: [Sample], grouping: Grouping?,
                          plans: PlanCache? = nil) -> [Sample] {
        let (groupOf, groupLabels) = groups(samples, grouping, plans)
        var members = [[Int]](repeating: [], count: groupLabels.count)
        for (index, group) in groupOf.enumerated() { members[group].append(index) }
        var result: [Sample] = []
        for (labels, members) in zip(groupLabels, members) {
            let values = members.map { samples[$0].value }
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
                result += top(k, members, in: samples, largest: aggregation == .topk)
            }
        }
        return result
    }

    /// Each sample's group and each group's labels (groups in order of first appearance), from
    /// `plans` when the same series were grouped the same way before.
    static func groups(_ samples: [Sample], _ grouping: Grouping?, _ plans: PlanCache?) -> (groupOf: [Int], labels: [Labels]) {
        guard let grouping else { return ([Int](repeating: 0, count: samples.count), samples.isEmpty ? [] : [[:]]) }
        // `by (a, b)` keys on those labels' values alone; only `without` needs each sample's
        // remaining labels. Keys are kept with the series they were made from (see `SeriesLabels`).
        let byNames = grouping.without ? nil : grouping.labels.filter { $0 != "__name__" }
        let spec = (grouping.without ? "without\u{1}" : "by\u{1}") + grouping.labels.joined(separator: "\u{1}")
        let key = plans == nil ? nil : PlanCache.key(spec, samples)
        if let plans, let key, let plan = plans.grouping(key, for: samples) { return (plan.groupOf, plan.groupLabels) }
        func makeKey(_ labels: Labels) -> String {
            guard let byNames else { return groupLabels(labels, grouping).signature() }
            var made = ""
            for name in byNames {
                made += labels[name] ?? ""
                made += "\u{1}"
            }
            return made
        }
        var groupOf: [Int] = []
        groupOf.reserveCapacity(samples.count)
        var labels: [Labels] = []
        var byKey: [String: Int] = [:]
        for sample in samples {
            let made = sample.key(spec, make: makeKey)
            if let group = byKey[made] {
                groupOf.append(group)
            } else {
                byKey[made] = labels.count
                groupOf.append(labels.count)
                labels.append(groupLabels(sample.labels, grouping))
            }
        }
        if let plans, let key, let plan = PlanCache.GroupingPlan(samples, groupOf: groupOf, groupLabels: labels) {
            plans.store(plan, key)
        }
        return (groupOf, labels)
    }

    /// The k best members in order (NaN last; ties keep input order), by insertion into a list
    /// of at most k: k is small and groups are large, so no full sort.
    static func top(_ k: Int, _ members: [Int], in samples: [Sample], largest: Bool) -> [Sample] {
        func better(_ a: Int, _ b: Int) -> Bool {
            let (x, y) = (samples[a].value, samples[b].value)
            if x.isNaN != y.isNaN { return y.isNaN }
            if x != y { return largest ? x > y : x < y }
            return a < b
        }
        var best: [Int] = []
        best.reserveCapacity(min(k, members.count) + 1)
        for member in members {
            if best.count == k, let last = best.last, !better(member, last) { continue }
            var position = best.count
            while position > 0, better(member, best[position - 1]) { position -= 1 }
            best.insert(member, at: position)
            if best.count > k { best.removeLast() }
        }
        return best.map { samples[$0] }
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

    static func extreme(_ values: some Sequence<Double>, _ better: (Double, Double) -> Bool) -> Double {
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
