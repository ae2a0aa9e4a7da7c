import Foundation

/// The PromQL functions of the subset: signatures for the checker, implementations for the evaluator.
enum Functions {
    struct Signature {
        let arguments: [ValueType]
        let returns: ValueType
        var optional = 0
        var variadic = false
    }

    static let overTime = ["avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
                           "stddev_over_time", "stdvar_over_time", "present_over_time"]
    static let math = ["abs", "ceil", "floor", "sqrt", "exp", "ln", "log2", "log10"]

    static let signatures: [String: Signature] = {
        var table: [String: Signature] = [
            "rate": .init(arguments: [.matrix], returns: .vector),
            "irate": .init(arguments: [.matrix], returns: .vector),
            "increase": .init(arguments: [.matrix], returns: .vector),
            "delta": .init(arguments: [.matrix], returns: .vector),
            "idelta": .init(arguments: [.matrix], returns: .vector),
            "deriv": .init(arguments: [.matrix], returns: .vector),
            "changes": .init(arguments: [.matrix], returns: .vector),
            "resets": .init(arguments: [.matrix], returns: .vector),
            "predict_linear": .init(arguments: [.matrix, .scalar], returns: .vector),
            "quantile_over_time": .init(arguments: [.scalar, .matrix], returns: .vector),
            "absent": .init(arguments: [.vector], returns: .vector),
            "absent_over_time": .init(arguments: [.matrix], returns: .vector),
            "histogram_quantile": .init(arguments: [.scalar, .vector], returns: .vector),
            "clamp_min": .init(arguments: [.vector, .scalar], returns: .vector),
            "clamp_max": .init(arguments: [.vector, .scalar], returns: .vector),
            "clamp": .init(arguments: [.vector, .scalar, .scalar], returns: .vector),
            "round": .init(arguments: [.vector, .scalar], returns: .vector, optional: 1),
            "time": .init(arguments: [], returns: .scalar),
            "vector": .init(arguments: [.scalar], returns: .vector),
            "scalar": .init(arguments: [.vector], returns: .scalar),
            "timestamp": .init(arguments: [.vector], returns: .vector),
            "sort": .init(arguments: [.vector], returns: .vector),
            "sort_desc": .init(arguments: [.vector], returns: .vector),
            "label_replace": .init(arguments: [.vector, .string, .string, .string, .string], returns: .vector),
        ]
        for name in overTime { table[name] = .init(arguments: [.matrix], returns: .vector) }
        for name in math { table[name] = .init(arguments: [.vector], returns: .vector) }
        return table
    }()

    static func known(_ name: String) -> Bool { signatures[name] != nil }

    static func call(_ name: String, _ arguments: [Expr], at t: Int64, evaluator: Evaluator) throws(PromQLError) -> QueryValue {
        func vector(_ index: Int) throws(PromQLError) -> [Sample] {
            guard case let .vector(samples) = try evaluator.eval(arguments[index], t) else { throw PromQLError("argument \(index + 1) of \(name) must be an instant vector") }
            return samples
        }
        func scalar(_ index: Int) throws(PromQLError) -> Double {
            guard case let .scalar(value) = try evaluator.eval(arguments[index], t) else { throw PromQLError("argument \(index + 1) of \(name) must be a scalar") }
            return value
        }
        func string(_ index: Int) throws(PromQLError) -> String {
            guard case let .string(value) = try evaluator.eval(arguments[index], t) else { throw PromQLError("argument \(index + 1) of \(name) must be a string") }
            return value
        }
        func matrix(_ index: Int) throws(PromQLError) -> [Series] {
            let argument = unwrap(arguments[index])
            guard case .matrixSelector = argument, case let .matrix(series) = try evaluator.eval(argument, t) else {
                throw PromQLError("argument \(index + 1) of \(name) must be a range vector")
            }
            return series
        }
        /// Each series of the range argument `index` with its points, read from the store as
        /// they lie there, with no range vector built in between (that was most of a rule like
        /// `rate(x[5m]) > 1` over many series). False when the source is not the store.
        func storedRanges(_ index: Int, checkingRises: Bool = false, _ body: (SeriesRef, ArraySlice<Point>, Bool) -> Void) -> Bool {
            guard let store = evaluator.source as? SampleStore, case let .matrixSelector(selector, range) = unwrap(arguments[index]) else {
                return false
            }
            let reference = t - selector.offset
            store.forEachRange(matching: evaluator.matchers(selector), from: reference - range, through: reference,
                               checkingRises: checkingRises, body)
            return true
        }
        /// `compute` on each series of the range argument `index`.
        func perSeries(_ index: Int = 0, _ compute: (ArraySlice<Point>) -> Double?) throws(PromQLError) -> QueryValue {
            try perSeries(index, checkingRises: false) { points, _ in compute(points) }
        }
        /// The same, telling `compute` whether the points are known never to go down.
        func perSeries(_ index: Int = 0, checkingRises: Bool, _ compute: (ArraySlice<Point>, Bool) -> Double?) throws(PromQLError) -> QueryValue {
            var result: [Sample] = []
            let read = storedRanges(index, checkingRises: checkingRises) { series, points, rising in
                if let value = compute(points, rising) { result.append(Sample(unnamedOf: series, value: value)) }
            }
            if read { return .vector(result) }
            return .vector(try matrix(index).compactMap { series in
                compute(series.points, false).map { Sample(unnamedOf: series.ref, value: $0) }
            })
        }
        func mapValues(_ transform: (Double) -> Double) throws(PromQLError) -> QueryValue {
            .vector(try vector(0).map { $0.droppingName(value: transform($0.value)) })
        }

        switch name {
        case "rate", "increase", "delta":
            guard case let .matrixSelector(selector, range) = unwrap(arguments[0]) else {
                throw PromQLError("argument 1 of \(name) must be a range vector")
            }
            let (start, end) = (t - selector.offset - range, t - selector.offset)
            return try perSeries(checkingRises: name != "delta") { points, rising in
                extrapolatedRate(points, start: start, end: end, range: range, isCounter: name != "delta", isRate: name == "rate",
                                 knownNoResets: rising)
            }
        case "irate", "idelta":
            return try perSeries { points in
                guard points.count >= 2 else { return nil }
                let last = points[points.endIndex - 1], previous = points[points.endIndex - 2]
                var value = last.v - previous.v
                if name == "irate" {
                    if last.v < previous.v { value = last.v }
                    let seconds = Double(last.t - previous.t) / 1000
                    guard seconds != 0 else { return nil }
                    value /= seconds
                }
                return value
            }
        case "deriv":
            return try perSeries { points in points.count < 2 ? nil : linearRegression(points, interceptTime: t).slope }
        case "predict_linear":
            let horizon = try scalar(1)
            return try perSeries { points in
                guard points.count >= 2 else { return nil }
                let (slope, intercept) = linearRegression(points, interceptTime: t)
                return slope * horizon + intercept
            }
        case "changes", "resets":
            return try perSeries { points in
                var count = 0.0
                for (previous, current) in zip(points, points.dropFirst()) {
                    if name == "changes" ? (current.v != previous.v && !(current.v.isNaN && previous.v.isNaN)) : current.v < previous.v { count += 1 }
                }
                return count
            }
        case "avg_over_time":
            // Series taken two at a time from the store (see `Kahan.means`).
            var result: [Sample] = []
            var waiting: (series: SeriesRef, points: ArraySlice<Point>)?
            let read = storedRanges(0) { series, points, _ in
                guard let first = waiting else {
                    waiting = (series, points)
                    return
                }
                let (a, b) = Kahan.means(first.points, points)
                result.append(Sample(unnamedOf: first.series, value: a))
                result.append(Sample(unnamedOf: series, value: b))
                waiting = nil
            }
            guard read else { return try perSeries { Kahan.mean($0.lazy.map(\.v)) } }
            if let last = waiting { result.append(Sample(unnamedOf: last.series, value: Kahan.mean(last.points.lazy.map(\.v)))) }
            return .vector(result)
        case "min_over_time": return try perSeries { Aggregator.extreme($0.lazy.map(\.v), <) }
        case "max_over_time": return try perSeries { Aggregator.extreme($0.lazy.map(\.v), >) }
        case "sum_over_time": return try perSeries { Kahan.sum($0.lazy.map(\.v)) }
        case "count_over_time": return try perSeries { Double($0.count) }
        case "last_over_time":
            return .vector(try matrix(0).compactMap { series in series.points.last.map { Sample(labels: series.labels, value: $0.v) } })
        case "present_over_time": return try perSeries { _ in 1 }
        case "stddev_over_time": return try perSeries { sqrt(Kahan.variance($0.map(\.v))) }
        case "stdvar_over_time": return try perSeries { Kahan.variance($0.map(\.v)) }
        case "quantile_over_time":
            let q = try scalar(0)
            return try perSeries(1) { Aggregator.quantile(q, $0.map(\.v)) }
        case "absent":
            guard try vector(0).isEmpty else { return .vector([]) }
            return .vector([Sample(labels: absentLabels(arguments[0]), value: 1)])
        case "absent_over_time":
            guard try matrix(0).isEmpty else { return .vector([]) }
            return .vector([Sample(labels: absentLabels(arguments[0]), value: 1)])
        case "histogram_quantile":
            return .vector(Histograms.quantile(try scalar(0), try vector(1)))
        case "clamp_min":
            let limit = try scalar(1)
            return try mapValues { Swift.max($0, limit) }
        case "clamp_max":
            let limit = try scalar(1)
            return try mapValues { Swift.min($0, limit) }
        case "clamp":
            let low = try scalar(1), high = try scalar(2)
            if low > high { return .vector([]) }
            return try mapValues { Swift.max(low, Swift.min(high, $0)) }
        case "round":
            let step = arguments.count > 1 ? try scalar(1) : 1
            let inverse = 1 / step
            return try mapValues { Foundation.floor($0 * inverse + 0.5) / inverse }
        case "abs": return try mapValues { Swift.abs($0) }
        case "ceil": return try mapValues { Foundation.ceil($0) }
        case "floor": return try mapValues { Foundation.floor($0) }
        case "sqrt": return try mapValues { Foundation.sqrt($0) }
        case "exp": return try mapValues { Foundation.exp($0) }
        case "ln": return try mapValues { Foundation.log($0) }
        case "log2": return try mapValues(GoMath.log2)
        case "log10": return try mapValues { Foundation.log($0) * (1 / M_LN10) }
        case "time": return .scalar(Double(t) / 1000)
        case "vector": return .vector([Sample(labels: [:], value: try scalar(0))])
        case "scalar":
            let samples = try vector(0)
            return .scalar(samples.count == 1 ? samples[0].value : .nan)
        case "timestamp":
            // The time of each sample's point, which for a selector is the sample's own time.
            let argument = unwrap(arguments[0])
            if case let .vectorSelector(selector) = argument {
                let reference = t - selector.offset
                return .vector(evaluator.source.series(matching: evaluator.matchers(selector), from: reference - evaluator.lookback, through: reference)
                    .compactMap { series in
                        guard let last = series.points.last, !StaleMarker.isStale(last.v) else { return nil }
                        return Sample(labels: series.labels.droppingName, value: Double(last.t) / 1000)
                    })
            }
            return try mapValues { _ in Double(t) / 1000 }
        case "sort":
            return .vector(try vector(0).sorted { a, b in a.value.isNaN ? false : b.value.isNaN ? true : a.value < b.value })
        case "sort_desc":
            return .vector(try vector(0).sorted { a, b in a.value.isNaN ? false : b.value.isNaN ? true : a.value > b.value })
        case "label_replace":
            let samples = try vector(0)
            let destination = try string(1), replacement = try string(2), sourceLabel = try string(3), pattern = try string(4)
            guard Parser.isLabelName(destination) else { throw PromQLError("invalid destination label name in label_replace(): \(destination)") }
            let regex: NSRegularExpression
            do {
                regex = try NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.dotMatchesLineSeparators])
            } catch {
                throw PromQLError("invalid regular expression in label_replace(): \(pattern)")
            }
            var seen = Set<String>()
            var output: [Sample] = []
            for sample in samples {
                var labels = sample.labels
                let value = labels[sourceLabel] ?? ""
                let range = NSRange(value.startIndex..., in: value)
                if let match = regex.firstMatch(in: value, range: range) {
                    let expanded = expand(replacement, match: match, in: value)
                    labels[destination] = expanded.isEmpty ? nil : expanded
                }
                guard seen.insert(labels.signature()).inserted else {
                    throw PromQLError("vector cannot contain metrics with the same labelset")
                }
                output.append(Sample(labels: labels, value: sample.value))
            }
            return .vector(output)
        default:
            throw PromQLError("function \"\(name)\" is not supported")
        }
    }

    static func unwrap(_ expr: Expr) -> Expr {
        if case let .paren(inner) = expr { return unwrap(inner) }
        return expr
    }

    /// The labels `absent()` reports: the selector's equality matchers (not `__name__`).
    static func absentLabels(_ argument: Expr) -> Labels {
        var selector: VectorSelector?
        switch unwrap(argument) {
        case let .vectorSelector(found): selector = found
        case let .matrixSelector(found, _): selector = found
        default: break
        }
        var labels: Labels = [:]
        var repeated = Set<String>()
        for matcher in selector?.matchers ?? [] where matcher.name != "__name__" {
            if labels[matcher.name] != nil || repeated.contains(matcher.name) {
                labels[matcher.name] = nil
                repeated.insert(matcher.name)
                continue
            }
            if matcher.kind == .equal { labels[matcher.name] = matcher.value }
        }
        return labels
    }

    /// `$1`, `${1}`, `$name` in a label_replace replacement, as Go's regexp.Expand does.
    static func expand(_ template: String, match: NSTextCheckingResult, in text: String) -> String {
        var output = ""
        var index = template.startIndex
        func group(_ number: Int) -> String {
            guard number < match.numberOfRanges, let range = Range(match.range(at: number), in: text) else { return "" }
            return String(text[range])
        }
        while index < template.endIndex {
            let character = template[index]
            guard character == "$" else {
                output.append(character)
                index = template.index(after: index)
                continue
            }
            let next = template.index(after: index)
            guard next < template.endIndex else { output.append("$"); break }
            if template[next] == "$" {
                output.append("$")
                index = template.index(after: next)
                continue
            }
            var nameEnd = next
            var name: Substring
            if template[next] == "{" {
                guard let close = template[next...].firstIndex(of: "}") else { output.append("$"); index = next; continue }
                name = template[template.index(after: next)..<close]
                nameEnd = template.index(after: close)
            } else {
                while nameEnd < template.endIndex, template[nameEnd].isLetter || template[nameEnd].isNumber || template[nameEnd] == "_" {
                    nameEnd = template.index(after: nameEnd)
                }
                name = template[next..<nameEnd]
            }
            if let number = Int(name) {
                output += group(number)
            }
            index = nameEnd
        }
        return output
    }

    /// Prometheus' extrapolated rate: the increase over the samples, corrected for counter resets,
    /// extrapolated to the range's edges unless a sample is further than 1.1 average intervals away.
    /// `knownNoResets` skips the scan for counter resets when the store knows there is none.
    static func extrapolatedRate(_ points: ArraySlice<Point>, start: Int64, end: Int64, range: Int64, isCounter: Bool, isRate: Bool,
                                 knownNoResets: Bool = false) -> Double? {
        guard points.count >= 2, let first = points.first, let last = points.last else { return nil }
        var result = last.v - first.v
        if isCounter, !knownNoResets {
            var previous = 0.0
            for point in points {
                if point.v < previous { result += previous }
                previous = point.v
            }
        }
        var durationToStart = Double(first.t - start) / 1000
        let durationToEnd = Double(end - last.t) / 1000
        let sampledInterval = Double(last.t - first.t) / 1000
        let averageInterval = sampledInterval / Double(points.count - 1)
        if isCounter, result > 0, first.v >= 0 {
            let durationToZero = sampledInterval * (first.v / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        let threshold = averageInterval * 1.1
        var extrapolateTo = sampledInterval
        extrapolateTo += durationToStart < threshold ? durationToStart : averageInterval / 2
        extrapolateTo += durationToEnd < threshold ? durationToEnd : averageInterval / 2
        var factor = extrapolateTo / sampledInterval
        if isRate { factor /= Double(range) / 1000 }
        return result * factor
    }

    static func linearRegression(_ points: ArraySlice<Point>, interceptTime: Int64) -> (slope: Double, intercept: Double) {
        var n = 0.0, sumX = 0.0, sumY = 0.0, sumXY = 0.0, sumX2 = 0.0
        let initial = points[points.startIndex].v
        var constant = true
        for (index, point) in points.enumerated() {
            if constant, index > 0, point.v != initial { constant = false }
            n += 1
            let x = Double(point.t - interceptTime) / 1000
            sumX += x
            sumY += point.v
            sumXY += x * point.v
            sumX2 += x * x
        }
        if constant { return initial.isInfinite ? (.nan, .nan) : (0, initial) }
        let covXY = sumXY - sumX * sumY / n
        let varX = sumX2 - sumX * sumX / n
        let slope = covXY / varX
        return (slope, sumY / n - slope * sumX / n)
    }
}
