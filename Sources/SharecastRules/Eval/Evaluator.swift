import Foundation

/// Evaluates a parsed expression at one instant, with Prometheus 2.x semantics: instant
/// selectors look back 5 minutes for the latest sample, range selectors take `[t - range, t]`,
/// functions and operators as in the Prometheus engine (names dropped where it drops them,
/// vector matching with `on`/`ignoring` and `group_left`/`group_right`).
public struct Evaluator: Sendable {
    public let source: any SeriesSource
    public var lookback: Int64 = 300_000
    /// Shared by the rules of one evaluation round (see `SelectorCache`).
    let cache: SelectorCache?
    /// Kept by a rule group across its rounds (see `PlanCache`).
    let plans: PlanCache?

    public init(source: any SeriesSource) {
        self.source = source
        cache = nil
        plans = nil
    }

    init(source: any SeriesSource, cache: SelectorCache?, plans: PlanCache? = nil) {
        self.source = source
        self.cache = cache
        self.plans = plans
        plans?.use(source)
    }

    public func evaluate(_ query: Query, at time: Int64) throws(PromQLError) -> QueryValue {
        try eval(query.expr, time)
    }

    func eval(_ expr: Expr, _ t: Int64) throws(PromQLError) -> QueryValue {
        switch expr {
        case let .number(value): return .scalar(value)
        case let .string(value): return .string(value)
        case let .paren(inner): return try eval(inner, t)
        case let .vectorSelector(selector):
            guard let cache else { return .vector(instant(selector, t)) }
            return .vector(cache.vector(SelectorCache.key(selector, range: nil, at: t), name: selector.name) { instant(selector, t) })
        case let .matrixSelector(selector, range):
            guard let cache else { return .matrix(matrix(selector, range, t)) }
            return .matrix(cache.matrix(SelectorCache.key(selector, range: range, at: t), name: selector.name) { matrix(selector, range, t) })
        case let .unary(_, operand):
            switch try eval(operand, t) {
            case let .scalar(value): return .scalar(-value)
            case let .vector(samples): return .vector(samples.map { $0.droppingName(value: -$0.value) })
            default: throw PromQLError("unary minus needs a scalar or an instant vector")
            }
        case let .binary(op, lhs, rhs, modifiers):
            return try binary(op, try eval(lhs, t), try eval(rhs, t), modifiers)
        case .aggregate, .call:
            // Shared within a round when the same subexpression appears in several rules.
            let names = expr.metricNames
            guard let cache, !names.isEmpty else { return try evalUncached(expr, t) }
            return try cache.value(expr.canonical + "@\(t)", names: names) { () throws(PromQLError) -> QueryValue in try evalUncached(expr, t) }
        }
    }

    func evalUncached(_ expr: Expr, _ t: Int64) throws(PromQLError) -> QueryValue {
        switch expr {
        case let .aggregate(aggregation, param, operand, grouping):
            let parameter: Double? = try param.map { (expr: Expr) throws(PromQLError) -> Double in
                guard case let .scalar(value) = try eval(expr, t) else { throw PromQLError("\(aggregation.rawValue) needs a scalar parameter") }
                return value
            }
            guard case let .vector(samples) = try eval(operand, t) else { throw PromQLError("\(aggregation.rawValue) needs an instant vector") }
            return .vector(Aggregator.aggregate(aggregation, parameter: parameter, samples, grouping: grouping, plans: plans))
        case let .call(name, arguments):
            return try Functions.call(name, arguments, at: t, evaluator: self)
        default:
            return try eval(expr, t)
        }
    }

    func matchers(_ selector: VectorSelector) -> [LabelMatcherSpec] {
        var all = selector.matchers.map(LabelMatcherSpec.init)
        if let name = selector.name, let nameMatcher = try? LabelMatcher(name: "__name__", kind: .equal, value: name) {
            all.append(LabelMatcherSpec(matcher: nameMatcher))
        }
        return all
    }

    /// The latest sample of each matching series at or before `t - offset`, within the lookback.
    func instant(_ selector: VectorSelector, _ t: Int64) -> [Sample] {
        let reference = t - selector.offset
        if let store = source as? SampleStore {
            return store.latest(matching: matchers(selector), at: reference, lookback: lookback)
        }
        return source.series(matching: matchers(selector), from: reference - lookback, through: reference).compactMap { series in
            guard let last = series.points.last, !StaleMarker.isStale(last.v) else { return nil }
            return Sample(series: series.ref, value: last.v)
        }
    }

    func matrix(_ selector: VectorSelector, _ range: Int64, _ t: Int64) -> [Series] {
        let reference = t - selector.offset
        if let store = source as? SampleStore {
            return store.series(matching: matchers(selector), from: reference - range, through: reference, droppingStale: true)
        }
        return source.series(matching: matchers(selector), from: reference - range, through: reference).compactMap { series in
            guard series.points.contains(where: { StaleMarker.isStale($0.v) }) else { return series }
            let points = series.points.filter { !StaleMarker.isStale($0.v) }
            return points.isEmpty ? nil : Series(series.ref, points: points[...])
        }
    }

    // MARK: Binary operators

    func binary(_ op: BinaryOp, _ lhs: QueryValue, _ rhs: QueryValue, _ modifiers: BinaryModifiers) throws(PromQLError) -> QueryValue {
        switch (lhs, rhs) {
        case let (.scalar(a), .scalar(b)):
            let (value, keep) = Self.apply(op, a, b)
            return .scalar(op.isComparison ? (keep ? 1 : 0) : value)
        case let (.vector(samples), .scalar(b)):
            return .vector(Self.withScalar(op, samples, modifiers.returnBool) { (a: $0, b: b) })
        case let (.scalar(a), .vector(samples)):
            return .vector(Self.withScalar(op, samples, modifiers.returnBool) { (a: a, b: $0) })
        case let (.vector(left), .vector(right)):
            // With an empty side nothing can match, and as in Prometheus that ends the operation
            // before duplicates on the other side could be an error (and keeps quiet alerts cheap).
            if left.isEmpty || right.isEmpty {
                switch op {
                case .or: return .vector(left.isEmpty ? right : left)
                case .unless: return .vector(left)
                default: return .vector([])
                }
            }
            if op.isSet { return .vector(VectorMatching.set(op, left, right, modifiers)) }
            return .vector(try VectorMatching.binary(op, left, right, modifiers))
        default:
            throw PromQLError("operator \(op.rawValue) needs scalars or instant vectors")
        }
    }

    /// A vector and a scalar: `operands` places the sample's value on its side. A comparison
    /// without `bool` keeps the samples for which it holds, as they are (and touches no other:
    /// most alert conditions keep none).
    private static func withScalar(_ op: BinaryOp, _ samples: [Sample], _ returnBool: Bool,
                                   _ operands: (Double) -> (a: Double, b: Double)) -> [Sample] {
        var result: [Sample] = []
        if !op.isComparison || returnBool { result.reserveCapacity(samples.count) }
        for index in samples.indices {
            let (a, b) = operands(samples[index].value)
            let (value, keep) = apply(op, a, b)
            if op.isComparison {
                if returnBool {
                    result.append(samples[index].droppingName(value: keep ? 1 : 0))
                } else if keep {
                    result.append(samples[index])
                }
            } else {
                result.append(samples[index].droppingName(value: value))
            }
        }
        return result
    }

    /// The arithmetic result, or for comparisons the left value and whether the comparison holds.
    static func apply(_ op: BinaryOp, _ a: Double, _ b: Double) -> (Double, Bool) {
        switch op {
        case .add: (a + b, true)
        case .sub: (a - b, true)
        case .mul: (a * b, true)
        case .div: (a / b, true)
        case .mod: (fmod(a, b), true)
        case .pow: (pow(a, b), true)
        case .eql: (a, a == b)
        case .neq: (a, a != b)
        case .gtr: (a, a > b)
        case .lss: (a, a < b)
        case .gte: (a, a >= b)
        case .lte: (a, a <= b)
        case .and, .or, .unless: (a, true)
        }
    }
}

extension Dictionary where Key == String, Value == String {
    var droppingName: Labels {
        guard self["__name__"] != nil else { return self }
        var copy = self
        copy["__name__"] = nil
        return copy
    }
}

/// A parsed expression, ready to evaluate any number of times.
public struct Query: Sendable {
    let expr: Expr
    public let text: String

    public init(_ text: String) throws(PromQLError) {
        self.text = text
        expr = try Parser.parse(text)
    }

    /// The longest range any selector in the expression reads, lookback included (for how long
    /// the store must keep samples).
    public var longestRange: Int64 {
        func walk(_ expr: Expr) -> Int64 {
            switch expr {
            case .number, .string: 0
            case let .vectorSelector(selector): 300_000 + max(selector.offset, 0)
            case let .matrixSelector(selector, range): range + max(selector.offset, 0)
            case let .paren(inner), let .unary(_, inner): walk(inner)
            case let .binary(_, lhs, rhs, _): Swift.max(walk(lhs), walk(rhs))
            case let .aggregate(_, param, operand, _): Swift.max(param.map(walk) ?? 0, walk(operand))
            case let .call(_, arguments): arguments.map(walk).max() ?? 0
            }
        }
        return walk(expr)
    }
}
