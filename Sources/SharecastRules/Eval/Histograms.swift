import Foundation

/// `histogram_quantile` over classic histograms (`_bucket` series with `le`).
enum Histograms {
    struct Bucket {
        var upperBound: Double
        var count: Double
    }

    static func quantile(_ q: Double, _ samples: [Sample]) -> [Sample] {
        var order: [String] = []
        var groups: [String: (labels: Labels, buckets: [Bucket])] = [:]
        for sample in samples {
            guard let le = sample.labels["le"], let bound = parseBound(le) else { continue }
            var labels = sample.labels
            labels["le"] = nil
            labels["__name__"] = nil
            let key = labels.signature()
            if groups[key] == nil {
                order.append(key)
                groups[key] = (labels, [])
            }
            groups[key]?.buckets.append(Bucket(upperBound: bound, count: sample.value))
        }
        return order.compactMap { key in
            guard let group = groups[key] else { return nil }
            return Sample(labels: group.labels, value: bucketQuantile(q, group.buckets))
        }
    }

    static func parseBound(_ text: String) -> Double? {
        switch text.trimmingCharacters(in: .whitespaces) {
        case "+Inf", "Inf", "+inf", "inf": .infinity
        case "-Inf", "-inf": -.infinity
        case let other: Double(other)
        }
    }

    static func bucketQuantile(_ q: Double, _ unsorted: [Bucket]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        var buckets = unsorted.sorted { $0.upperBound < $1.upperBound }
        guard let last = buckets.last, last.upperBound == .infinity else { return .nan }
        // Buckets with the same bound (after the label was formatted differently) are summed.
        var coalesced: [Bucket] = []
        for bucket in buckets {
            if let previous = coalesced.last, previous.upperBound == bucket.upperBound {
                coalesced[coalesced.count - 1].count += bucket.count
            } else {
                coalesced.append(bucket)
            }
        }
        buckets = coalesced
        var maximum = -Double.infinity
        for index in buckets.indices {
            if buckets[index].count > maximum {
                maximum = buckets[index].count
            } else if buckets[index].count < maximum {
                buckets[index].count = maximum
            }
        }
        guard buckets.count >= 2 else { return .nan }
        let observations = buckets[buckets.count - 1].count
        guard observations != 0 else { return .nan }
        var rank = q * observations
        let b = buckets.dropLast().firstIndex { $0.count >= rank } ?? buckets.count - 1
        if b == buckets.count - 1 { return buckets[buckets.count - 2].upperBound }
        if b == 0, buckets[0].upperBound <= 0 { return buckets[0].upperBound }
        var bucketStart = 0.0
        let bucketEnd = buckets[b].upperBound
        var count = buckets[b].count
        if b > 0 {
            bucketStart = buckets[b - 1].upperBound
            count -= buckets[b - 1].count
            rank -= buckets[b - 1].count
        }
        return bucketStart + (bucketEnd - bucketStart) * (rank / count)
    }
}
