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

    static func mean(_ values: some Sequence<Double>) -> Double {
        var mean = 0.0, count = 0.0, c = 0.0
        for value in values {
            count += 1
            if mean.isInfinite {
                if value.isInfinite, (mean > 0) == (value > 0) { continue }
                if !value.isInfinite, !value.isNaN { continue }
            }
            (mean, c) = add(value / count - mean / count, mean, c)
        }
        return mean.isInfinite ? mean : mean + c
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
