import Foundation

/// A value an Xtream Codes panel sends where a number or a string is meant. Panels write `"1"`,
/// `1`, `1.0`, `true` and `null` for the same field, differently from one version to the next, so
/// every field is read as this and converted with checks: `1e16`, `nan` or `"12abc"` as a channel
/// number is no number, never a trap.
public enum XtreamScalar: Decodable, Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    /// An array or object where a scalar belongs.
    case other

    public init(from decoder: any Decoder) throws {
        guard let container = try? decoder.singleValueContainer() else {
            self = .other
            return
        }
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .other
        }
    }

    /// The value as text: strings as they are, whole numbers without a fraction.
    public var text: String? {
        switch self {
        case let .string(value): value
        case let .integer(value): String(value)
        case let .number(value): value.isFinite ? (Self.wholeNumber(value).map(String.init) ?? String(value)) : nil
        case let .bool(value): value ? "1" : "0"
        case .null, .other: nil
        }
    }

    /// Non-empty text after trimming.
    public var nonEmptyText: String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }

    /// A whole number within `range`, from a number or a decimal string; nil otherwise.
    public func integer(in range: ClosedRange<Int> = 0...Int(Int32.max)) -> Int? {
        let value: Int?
        switch self {
        case let .integer(number): value = Int(exactly: number)
        case let .number(number): value = Self.wholeNumber(number)
        case let .string(text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            value = Int(trimmed) ?? Double(trimmed).flatMap(Self.wholeNumber)
        case let .bool(flag): value = flag ? 1 : 0
        case .null, .other: value = nil
        }
        guard let value, range.contains(value) else { return nil }
        return value
    }

    /// `value` when it is finite, whole and fits an `Int`.
    static func wholeNumber(_ value: Double) -> Int? {
        guard value.isFinite, value.rounded() == value, abs(value) < 9.0e15 else { return nil }
        return Int(exactly: value)
    }

    /// Xtream's truthy values: `1`, `"1"`, `true`, `"true"`.
    public var isTrue: Bool {
        switch self {
        case let .bool(flag): flag
        case let .string(text): ["1", "true", "yes"].contains(text.lowercased())
        default: integer(in: Int.min...Int.max).map { $0 != 0 } ?? false
        }
    }
}
