import Testing
@testable import SharecastRules

@Suite struct ParserTests {
    @Test func tokensCarryTheirColumns() throws {
        let tokens = try Lexer.tokens("sum(rate(x[5m:1m]))")
        #expect(tokens.map(\.column) == [1, 4, 5, 9, 10, 11, 12, 14, 15, 17, 18, 19, 20])
        #expect(Lexer.parseDuration("1h30m") == 5_400_000 && Lexer.parseDuration("100ms") == 100 && Lexer.parseDuration("30m1h") == nil)
        #expect(Lexer.parseDuration("999999999999999999y") == nil)
        #expect(try Self.value("2 ^ 64") == 18_446_744_073_709_551_616)
    }

    static func value(_ text: String) throws -> Double? {
        guard case let .scalar(value) = try Evaluator(source: SampleStore()).evaluate(try Query(text), at: 0) else { return nil }
        return value
    }

    @Test func alertValuesArePrintedAsPrometheusPrintsThem() {
        #expect(GoFormat.exponent(1) == "1e+00")
        #expect(GoFormat.exponent(0.5) == "5e-01")
        #expect(GoFormat.exponent(123) == "1.23e+02")
        #expect(GoFormat.exponent(-2.5e21) == "-2.5e+21")
        #expect(GoFormat.exponent(0) == "0e+00")
        #expect(GoFormat.value(1_234_567) == "1.234567e+06" && GoFormat.value(123_456) == "123456" && GoFormat.value(0.00001) == "1e-05")
    }

    @Test func precedenceAndAssociativityFollowPromQL() throws {
        #expect(try Self.value("-2 ^ 2") == -4)
        #expect(try Self.value("2 ^ 3 ^ 2") == 512)
        #expect(try Self.value("1 + 2 * 3") == 7)
        #expect(try Self.value("10 - 4 - 3") == 3)
        #expect(try Self.value("1 < bool 2 + 1") == 1)
        #expect(try Self.value("7 % 4 * 2") == 6)
    }

    @Test func constructsOutsideTheSubsetAreRefusedByName() {
        for (text, message) in [
            ("x[5m:1m]", "subqueries are not supported"),
            ("x @ 100", "the @ modifier is not supported"),
            ("count_values(\"v\", x)", "function \"count_values\" is not supported"),
            ("1 > 2", "comparisons between scalars need the bool modifier"),
            ("rate(x)", "argument 1 of rate must be a range vector, got instant vector"),
            ("{job=~\".*\"}", "a selector without a metric name needs a matcher that does not match the empty string"),
            ("x and 1", "set operator and needs instant vectors on both sides"),
        ] {
            #expect(throws: PromQLError.self, "\(text)") { try Query(text) }
            do {
                _ = try Query(text)
            } catch {
                #expect(error.message == message, "\(text)")
            }
        }
    }

    @Test func seriesValuesThatExpandTooFarAreErrors() throws {
        for text in ["1x9223372036854775807", "1+1x1000000", "_x9223372036854775807", "_x-1", "1x-5"] {
            #expect(throws: PromQLError.self, "\(text)") { try SeriesNotation.values(text) }
        }
        #expect(try SeriesNotation.values("1x2 _x1").count == 4)
        #expect(try SeriesNotation.labels("{}") == [:])
        #expect(try SeriesNotation.labels(" { } ") == [:])
    }

    /// Found by fuzzing: thousands of `(` overflowed the stack of the recursive parser (and would
    /// have of the evaluator), ending the process that loaded the rule file.
    @Test func expressionsNestedTooDeeplyAreErrors() throws {
        for text in [String(repeating: "(", count: 5000) + "1", String(repeating: "-", count: 5000) + "1",
                     Array(repeating: "x", count: 3000).joined(separator: " + "), String(repeating: "abs(", count: 3000) + "x"] {
            #expect(throws: PromQLError.self) { try Query(text) }
        }
        // Real rules nest a few levels: still fine.
        _ = try Query("sum by (a) (rate(x[5m])) / on(a) (max by (a) (y) + 1) * 2 > 0.5")
        _ = try Query(Array(repeating: "x", count: 60).joined(separator: " + "))
    }
}
