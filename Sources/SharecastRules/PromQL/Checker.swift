/// The value kinds of PromQL.
enum ValueType: String, Sendable {
    case scalar, vector = "instant vector", matrix = "range vector", string
}

/// Static checks after parsing: argument kinds of functions and aggregations, operand kinds of
/// operators, selectors that could match everything.
enum Checker {
    static func check(_ expr: Expr) throws(PromQLError) {
        _ = try type(of: expr)
    }

    static func type(of expr: Expr) throws(PromQLError) -> ValueType {
        switch expr {
        case .number: return .scalar
        case .string: return .string
        case let .paren(inner): return try type(of: inner)
        case let .vectorSelector(selector):
            try checkSelector(selector)
            return .vector
        case let .matrixSelector(selector, _):
            try checkSelector(selector)
            return .matrix
        case let .unary(_, operand):
            let operandType = try type(of: operand)
            guard operandType == .scalar || operandType == .vector else {
                throw PromQLError("unary minus needs a scalar or an instant vector, got \(operandType.rawValue)")
            }
            return operandType
        case let .binary(op, lhs, rhs, modifiers):
            let left = try type(of: lhs), right = try type(of: rhs)
            for side in [left, right] where side != .scalar && side != .vector {
                throw PromQLError("operator \(op.rawValue) needs scalars or instant vectors, got \(side.rawValue)")
            }
            if op.isSet, left != .vector || right != .vector {
                throw PromQLError("set operator \(op.rawValue) needs instant vectors on both sides")
            }
            if op.isComparison, left == .scalar, right == .scalar, !modifiers.returnBool {
                throw PromQLError("comparisons between scalars need the bool modifier")
            }
            if modifiers.on != nil || modifiers.card != .oneToOne, left == .scalar || right == .scalar {
                throw PromQLError("vector matching only applies between two instant vectors")
            }
            return left == .vector || right == .vector ? .vector : .scalar
        case let .aggregate(aggregation, param, operand, _):
            guard try type(of: operand) == .vector else {
                throw PromQLError("\(aggregation.rawValue) needs an instant vector")
            }
            if let param, try type(of: param) != .scalar {
                throw PromQLError("the first argument of \(aggregation.rawValue) must be a scalar")
            }
            return .vector
        case let .call(name, arguments):
            guard let signature = Functions.signatures[name] else { throw PromQLError("function \"\(name)\" is not supported") }
            let required = signature.arguments.count - signature.optional
            guard (required...signature.arguments.count).contains(arguments.count) || (signature.variadic && arguments.count >= required) else {
                throw PromQLError("\(name) takes \(required == signature.arguments.count ? "\(required)" : "\(required) to \(signature.arguments.count)") argument(s), got \(arguments.count)")
            }
            for (index, argument) in arguments.enumerated() {
                let expected = signature.arguments[min(index, signature.arguments.count - 1)]
                let found = try type(of: argument)
                guard found == expected else {
                    throw PromQLError("argument \(index + 1) of \(name) must be \(expected == .vector ? "an" : "a") \(expected.rawValue), got \(found.rawValue)")
                }
            }
            return signature.returns
        }
    }

    static func checkSelector(_ selector: VectorSelector) throws(PromQLError) {
        if selector.name == nil, !selector.matchers.contains(where: { !$0.matches("") }) {
            throw PromQLError("a selector without a metric name needs a matcher that does not match the empty string")
        }
    }
}
