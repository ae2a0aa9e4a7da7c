import Foundation

/// Compensated (Kahan–Neumaier) sums, as Prometheus' `*_over_time` functions use them: results
/// agree with Prometheus to the last bit, which rule tests compare exactly.
enum Kahan {
    static func add(_ increment: Double, _ sum: Double, _ compensation: Double) -> (Double, Double) {
        let total = sum + increment
        var c = compensation
        if abs(sum) >= abs(increment) {
            c += (sum - total) + increment
        } else {
            c += (increment - total) + sum
        }
        return (total, c)
    }

    static func sum(_ values: some Sequence<Double>) -> Double {
        var sum = 0.0, c = 0.0
        for value in values { (sum, c) = add(value, sum, c) }
        return sum.isInfinite ? sum : sum + c
    }

    /// Prometheus' running mean (`avg_over_time`), one value at a time.
    struct Mean {
        var mean = 0.0, count = 0.0, c = 0.0

        @inline(__always)
        mutating func add(_ value: Double) {
            count += 1
            if mean.isInfinite {
                if value.isInfinite, (mean > 0) == (value > 0) { return }
                if !value.isInfinite, !value.isNaN { return }
            }
            (mean, c) = Kahan.add(value / count - mean / count, mean, c)
        }

        var result: Double { mean.isInfinite ? mean : mean + c }
    }

    static func mean(_ values: some Sequence<Double>) -> Double {
        var state = Mean()
        for value in values { state.add(value) }
        return state.result
    }

    /// Two series' means at once, each exactly as `mean` makes it: the running mean is a chain
    /// of dependent divisions, and two independent chains side by side take little longer than one.
    static func means(_ a: ArraySlice<Point>, _ b: ArraySlice<Point>) -> (Double, Double) {
        var first = Mean(), second = Mean()
        let shared = Swift.min(a.count, b.count)
        var i = a.startIndex, j = b.startIndex
        for _ in 0..<shared {
            first.add(a[i].v)
            second.add(b[j].v)
            i += 1
            j += 1
        }
        while i < a.endIndex { first.add(a[i].v); i += 1 }
        while j < b.endIndex { second.add(b[j].v); j += 1 }
        return (first.result, second.result)
    }

    static func variance(_ values: [Double]) -> Double {
        var count = 0.0, mean = 0.0, cMean = 0.0, aux = 0.0, cAux = 0.0
        for value in values {
            count += 1
            let delta = value - (mean + cMean)
            (mean, cMean) = add(delta / count, mean, cMean)
            (aux, cAux) = add(delta * (value - (mean + cMean)), aux, cAux)
        }
        return (aux + cAux) / count
    }
}

/// Go's math functions where they round differently from the C library's.
enum GoMath {
    static func log2(_ x: Double) -> Double {
        let (fraction, exponent) = frexp(x)
        if fraction == 0.5 { return Double(exponent - 1) }
        return Foundation.log(fraction) * (1 / M_LN2) + Double(exponent)
    }
}
