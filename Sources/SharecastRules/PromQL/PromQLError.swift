/// Why an expression cannot be parsed or evaluated, with the column where it went wrong (1-based,
/// 0 when not tied to a place).
public struct PromQLError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public var column: Int

    public init(_ message: String, column: Int = 0) {
        self.message = message
        self.column = column
    }

    public var description: String { column > 0 ? "column \(column): \(message)" : message }
}
