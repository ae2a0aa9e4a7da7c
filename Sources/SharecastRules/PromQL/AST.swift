/// A parsed PromQL expression of the subset Sharecast evaluates (what rule files use).
indirect enum Expr: Sendable, Equatable {
    case number(Double)
    case string(String)
    case vectorSelector(VectorSelector)
    case matrixSelector(VectorSelector, range: Int64)
    case unary(negate: Bool, Expr)
    case binary(BinaryOp, Expr, Expr, BinaryModifiers)
    case aggregate(Aggregation, param: Expr?, Expr, grouping: Grouping?)
    case call(String, [Expr])
    case paren(Expr)
}

struct LabelMatcher: Sendable, Equatable {
    enum Kind: String, Sendable { case equal = "=", notEqual = "!=", regex = "=~", notRegex = "!~" }

    let name: String
    let kind: Kind
    let value: String
    let pattern: AnchoredRegex?

    init(name: String, kind: Kind, value: String) throws(PromQLError) {
        self.name = name
        self.kind = kind
        self.value = value
        if kind == .regex || kind == .notRegex {
            pattern = try AnchoredRegex(value)
        } else {
            pattern = nil
        }
    }

    func matches(_ labelValue: String) -> Bool {
        switch kind {
        case .equal: labelValue == value
        case .notEqual: labelValue != value
        case .regex: pattern?.matches(labelValue) ?? false
        case .notRegex: !(pattern?.matches(labelValue) ?? false)
        }
    }

    static func == (a: LabelMatcher, b: LabelMatcher) -> Bool {
        a.name == b.name && a.kind == b.kind && a.value == b.value
    }
}

struct VectorSelector: Sendable, Equatable {
    var name: String?
    var matchers: [LabelMatcher]
    /// Milliseconds.
    var offset: Int64 = 0
}

enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^"
    case eql = "==", neq = "!=", gtr = ">", lss = "<", gte = ">=", lte = "<="
    case and, or, unless

    var isComparison: Bool { [.eql, .neq, .gtr, .lss, .gte, .lte].contains(self) }
    var isSet: Bool { self == .and || self == .or || self == .unless }

    /// Higher binds tighter.
    var precedence: Int {
        switch self {
        case .or: 1
        case .and, .unless: 2
        case .eql, .neq, .gtr, .lss, .gte, .lte: 3
        case .add, .sub: 4
        case .mul, .div, .mod: 5
        case .pow: 6
        }
    }
}

struct BinaryModifiers: Sendable, Equatable {
    enum Card: Sendable, Equatable { case oneToOne, manyToOne, oneToMany }

    var returnBool = false
    /// `on(...)` when true, `ignoring(...)` when false; nil when neither was given.
    var on: Bool?
    var matchingLabels: [String] = []
    var card = Card.oneToOne
    var include: [String] = []
}

enum Aggregation: String, Sendable, CaseIterable {
    case sum, avg, min, max, count, topk, bottomk, quantile, stddev, stdvar, group

    var takesParameter: Bool { self == .topk || self == .bottomk || self == .quantile }
}

struct Grouping: Sendable, Equatable {
    var without: Bool
    var labels: [String]
}

extension Expr {
    /// A canonical text of the expression, for sharing results of equal subexpressions.
    var canonical: String {
        switch self {
        case let .number(value): return "\(value)"
        case let .string(value): return "\"\(value)\""
        case let .paren(inner): return inner.canonical
        case let .vectorSelector(selector): return Self.selectorText(selector)
        case let .matrixSelector(selector, range): return Self.selectorText(selector) + "[\(range)]"
        case let .unary(_, operand): return "-(" + operand.canonical + ")"
        case let .binary(op, lhs, rhs, modifiers):
            var text = "(" + lhs.canonical + " " + op.rawValue
            if modifiers.returnBool { text += " bool" }
            if let on = modifiers.on { text += (on ? " on(" : " ignoring(") + modifiers.matchingLabels.joined(separator: ",") + ")" }
            switch modifiers.card {
            case .manyToOne: text += " group_left(" + modifiers.include.joined(separator: ",") + ")"
            case .oneToMany: text += " group_right(" + modifiers.include.joined(separator: ",") + ")"
            case .oneToOne: break
            }
            return text + " " + rhs.canonical + ")"
        case let .aggregate(aggregation, param, operand, grouping):
            var text = aggregation.rawValue
            if let grouping { text += (grouping.without ? " without(" : " by(") + grouping.labels.joined(separator: ",") + ")" }
            return text + "(" + (param.map { $0.canonical + "," } ?? "") + operand.canonical + ")"
        case let .call(name, arguments):
            return name + "(" + arguments.map(\.canonical).joined(separator: ",") + ")"
        }
    }

    static func selectorText(_ selector: VectorSelector) -> String {
        let matchers = selector.matchers.sorted { ($0.name, $0.kind.rawValue, $0.value) < ($1.name, $1.kind.rawValue, $1.value) }
            .map { "\($0.name)\($0.kind.rawValue)\"\($0.value)\"" }.joined(separator: ",")
        return (selector.name ?? "") + "{" + matchers + "}" + (selector.offset != 0 ? " offset \(selector.offset)" : "")
    }

    /// Metric names the expression reads ("" for a selector without a name); empty for constants.
    var metricNames: Set<String> {
        switch self {
        case .number, .string: return []
        case let .paren(inner), let .unary(_, inner): return inner.metricNames
        case let .vectorSelector(selector), let .matrixSelector(selector, _): return [selector.name ?? ""]
        case let .binary(_, lhs, rhs, _): return lhs.metricNames.union(rhs.metricNames)
        case let .aggregate(_, param, operand, _): return (param?.metricNames ?? []).union(operand.metricNames)
        case let .call(_, arguments): return arguments.reduce(into: Set<String>()) { $0.formUnion($1.metricNames) }
        }
    }
}
