/// Parses the PromQL subset into an `Expr`. Anything outside the subset (subqueries, `@`, unknown
/// functions) is an error that names the construct, never a silent misreading.
struct Parser {
    private var tokens: [Token]
    private var position = 0
    /// How deep the expression being parsed is nested (parentheses, operands, arguments, chains of
    /// operators). The parser, the checker and the evaluator all recurse over the tree, so an
    /// expression of thousands of `(` (found by fuzzing) overflowed the stack and ended the whole
    /// process; real rules nest a few levels.
    private var depth = 0
    static let maxDepth = 128
    /// Tokens an expression may have.
    static let maxTokens = 10_000

    static func parse(_ text: String) throws(PromQLError) -> Expr {
        let tokens = try Lexer.tokens(text)
        guard tokens.count <= maxTokens else { throw PromQLError("expression longer than \(maxTokens) tokens") }
        var parser = Parser(tokens: tokens)
        let expr = try parser.parseExpr(minPrecedence: 0)
        guard case .end = parser.current.kind else {
            throw PromQLError("unexpected \(parser.describe(parser.current))", column: parser.current.column)
        }
        try Checker.check(expr)
        return expr
    }

    private init(tokens: [Token]) {
        self.tokens = tokens
    }

    private var current: Token { tokens[position] }
    private func peek(_ offset: Int = 1) -> Token { tokens[min(position + offset, tokens.count - 1)] }

    private mutating func advance() -> Token {
        defer { if position < tokens.count - 1 { position += 1 } }
        return tokens[position]
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case let .identifier(name): "\"\(name)\""
        case let .number(value): "number \(value)"
        case .duration: "duration"
        case let .string(value): "string \"\(value)\""
        case let .punct(symbol): "\"\(symbol)\""
        case .end: "end of expression"
        }
    }

    private func isPunct(_ symbol: String, _ token: Token? = nil) -> Bool {
        if case let .punct(found) = (token ?? current).kind { return found == symbol }
        return false
    }

    private func isKeyword(_ word: String, _ token: Token? = nil) -> Bool {
        if case let .identifier(found) = (token ?? current).kind { return found.lowercased() == word }
        return false
    }

    private mutating func expect(_ symbol: String) throws(PromQLError) {
        guard isPunct(symbol) else { throw PromQLError("expected \"\(symbol)\", found \(describe(current))", column: current.column) }
        _ = advance()
    }

    // MARK: Binary expressions

    private func binaryOp(_ token: Token) -> BinaryOp? {
        switch token.kind {
        case let .punct(symbol): BinaryOp(rawValue: symbol)
        case let .identifier(word): ["and", "or", "unless"].contains(word.lowercased()) ? BinaryOp(rawValue: word.lowercased()) : nil
        default: nil
        }
    }

    mutating func parseExpr(minPrecedence: Int) throws(PromQLError) -> Expr {
        depth += 1
        let entered = depth
        defer { depth = entered - 1 }
        guard depth <= Self.maxDepth else {
            throw PromQLError("expression nested more than \(Self.maxDepth) levels deep", column: current.column)
        }
        var lhs = try parseUnary()
        while let op = binaryOp(current), op.precedence >= minPrecedence {
            // Each operator of a chain (a + b + c ...) nests the tree one level deeper.
            depth += 1
            guard depth <= Self.maxDepth else {
                throw PromQLError("expression nested more than \(Self.maxDepth) levels deep", column: current.column)
            }
            let opToken = advance()
            var modifiers = BinaryModifiers()
            if isKeyword("bool") {
                guard op.isComparison else { throw PromQLError("bool is only allowed after a comparison", column: current.column) }
                _ = advance()
                modifiers.returnBool = true
            }
            if isKeyword("on") || isKeyword("ignoring") {
                modifiers.on = isKeyword("on")
                _ = advance()
                modifiers.matchingLabels = try parseLabelList()
                if isKeyword("group_left") || isKeyword("group_right") {
                    modifiers.card = isKeyword("group_left") ? .manyToOne : .oneToMany
                    _ = advance()
                    if isPunct("(") { modifiers.include = try parseLabelList() }
                }
            }
            if op.isSet, modifiers.card != .oneToOne {
                throw PromQLError("no grouping allowed for \"\(op.rawValue)\"", column: opToken.column)
            }
            // ^ is right-associative; everything else left.
            let rhs = try parseExpr(minPrecedence: op == .pow ? op.precedence : op.precedence + 1)
            lhs = .binary(op, lhs, rhs, modifiers)
        }
        return lhs
    }

    private mutating func parseUnary() throws(PromQLError) -> Expr {
        if isPunct("-") || isPunct("+") {
            let negate = isPunct("-")
            _ = advance()
            // Unary minus binds looser than ^: -2^2 is -4.
            let operand = try parseExpr(minPrecedence: BinaryOp.pow.precedence)
            if case let .number(value) = operand { return .number(negate ? -value : value) }
            return negate ? .unary(negate: true, operand) : operand
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(PromQLError) -> Expr {
        var expr = try parsePrimary()
        if isPunct("[") {
            let open = advance()
            guard case let .vectorSelector(selector) = expr else {
                throw PromQLError("subqueries and ranges of anything but a series selector are not supported", column: open.column)
            }
            guard case let .duration(range) = current.kind else {
                throw PromQLError("expected a duration in [...], found \(describe(current))", column: current.column)
            }
            _ = advance()
            if isPunct(":") { throw PromQLError("subqueries are not supported", column: current.column) }
            try expect("]")
            expr = .matrixSelector(selector, range: range)
        }
        if isKeyword("offset") {
            let keyword = advance()
            var negative = false
            if isPunct("-") { negative = true; _ = advance() }
            guard case let .duration(offset) = current.kind else {
                throw PromQLError("expected a duration after offset", column: current.column)
            }
            _ = advance()
            switch expr {
            case var .vectorSelector(selector):
                selector.offset = negative ? -offset : offset
                expr = .vectorSelector(selector)
            case .matrixSelector(var selector, let range):
                selector.offset = negative ? -offset : offset
                expr = .matrixSelector(selector, range: range)
            default:
                throw PromQLError("offset applies to series selectors only", column: keyword.column)
            }
        }
        if isPunct("@") { throw PromQLError("the @ modifier is not supported", column: current.column) }
        return expr
    }

    private mutating func parsePrimary() throws(PromQLError) -> Expr {
        let token = current
        switch token.kind {
        case let .number(value):
            _ = advance()
            return .number(value)
        case let .string(value):
            _ = advance()
            return .string(value)
        case .punct("("):
            _ = advance()
            let inner = try parseExpr(minPrecedence: 0)
            try expect(")")
            return .paren(inner)
        case .punct("{"):
            return .vectorSelector(VectorSelector(name: nil, matchers: try parseMatchers()))
        case let .identifier(name):
            let lower = name.lowercased()
            if lower == "inf" || lower == "nan", !isPunct("(", peek()), !isPunct("{", peek()) {
                _ = advance()
                return .number(lower == "inf" ? .infinity : .nan)
            }
            if let aggregation = Aggregation(rawValue: lower), isPunct("(", peek()) || isKeyword("by", peek()) || isKeyword("without", peek()) {
                return try parseAggregation(aggregation)
            }
            if isPunct("(", peek()) {
                _ = advance()
                guard Functions.known(name) else { throw PromQLError("function \"\(name)\" is not supported", column: token.column) }
                return .call(name, try parseArguments())
            }
            _ = advance()
            var matchers: [LabelMatcher] = []
            if isPunct("{") { matchers = try parseMatchers() }
            return .vectorSelector(VectorSelector(name: name, matchers: matchers))
        default:
            throw PromQLError("unexpected \(describe(token))", column: token.column)
        }
    }

    private mutating func parseArguments() throws(PromQLError) -> [Expr] {
        try expect("(")
        var arguments: [Expr] = []
        if isPunct(")") {
            _ = advance()
            return arguments
        }
        while true {
            arguments.append(try parseExpr(minPrecedence: 0))
            if isPunct(",") { _ = advance(); continue }
            try expect(")")
            return arguments
        }
    }

    private mutating func parseAggregation(_ aggregation: Aggregation) throws(PromQLError) -> Expr {
        let start = advance()
        var grouping: Grouping?
        if isKeyword("by") || isKeyword("without") {
            let without = isKeyword("without")
            _ = advance()
            grouping = Grouping(without: without, labels: try parseLabelList())
        }
        let arguments = try parseArguments()
        if isKeyword("by") || isKeyword("without") {
            guard grouping == nil else { throw PromQLError("grouping given twice", column: current.column) }
            let without = isKeyword("without")
            _ = advance()
            grouping = Grouping(without: without, labels: try parseLabelList())
        }
        let expected = aggregation.takesParameter ? 2 : 1
        guard arguments.count == expected else {
            throw PromQLError("\(aggregation.rawValue) takes \(expected) argument\(expected == 1 ? "" : "s"), got \(arguments.count)", column: start.column)
        }
        return .aggregate(aggregation, param: expected == 2 ? arguments[0] : nil, arguments[expected - 1], grouping: grouping)
    }

    private mutating func parseLabelList() throws(PromQLError) -> [String] {
        try expect("(")
        var labels: [String] = []
        while !isPunct(")") {
            guard case let .identifier(name) = current.kind, Self.isLabelName(name) else {
                throw PromQLError("expected a label name, found \(describe(current))", column: current.column)
            }
            labels.append(name)
            _ = advance()
            if isPunct(",") { _ = advance() } else { break }
        }
        try expect(")")
        return labels
    }

    private mutating func parseMatchers() throws(PromQLError) -> [LabelMatcher] {
        try expect("{")
        var matchers: [LabelMatcher] = []
        while !isPunct("}") {
            guard case let .identifier(name) = current.kind, Self.isLabelName(name) else {
                throw PromQLError("expected a label name, found \(describe(current))", column: current.column)
            }
            _ = advance()
            guard case let .punct(symbol) = current.kind, let kind = LabelMatcher.Kind(rawValue: symbol) else {
                throw PromQLError("expected =, !=, =~ or !~ after \(name)", column: current.column)
            }
            let opToken = advance()
            guard case let .string(value) = current.kind else {
                throw PromQLError("expected a quoted label value, found \(describe(current))", column: current.column)
            }
            _ = advance()
            do {
                matchers.append(try LabelMatcher(name: name, kind: kind, value: value))
            } catch {
                throw PromQLError(error.message, column: opToken.column)
            }
            if isPunct(",") { _ = advance() } else { break }
        }
        try expect("}")
        return matchers
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, Lexer.isLetter(first) || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { Lexer.isLetter($0) || Lexer.isDigit($0) || $0 == "_" }
    }
}
