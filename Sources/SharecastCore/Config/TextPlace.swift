import Yams

/// Where in a text file something is, as people look for it: line and column from 1 (columns
/// counted in characters of the line, as editors show them).
public struct TextPlace: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }

    /// The place of byte `offset` (from 0) of `bytes`; an offset past the end is the end.
    public static func of(byte offset: Int, in bytes: some Collection<UInt8>) -> TextPlace {
        var line = 1
        var lineStart: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if index >= offset { break }
            if byte == UInt8(ascii: "\n") {
                line += 1
                lineStart.removeAll(keepingCapacity: true)
            } else {
                lineStart.append(byte)
            }
        }
        // Characters before the byte on its line (a broken sequence counts as one each).
        let column = String(decoding: lineStart, as: UTF8.self).count + 1
        return TextPlace(line: line, column: column)
    }

    /// The place of the first byte that is not valid UTF-8, or nil when all of it is.
    public static func firstInvalidUTF8(in bytes: [UInt8]) -> (place: TextPlace, byte: UInt8)? {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let length: Int
            switch byte {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return (of(byte: index, in: bytes), byte)
            }
            guard index + length <= bytes.count else { return (of(byte: index, in: bytes), byte) }
            if length > 1 {
                // Continuation bytes, and the ranges that exclude overlong forms and surrogates.
                let second = bytes[index + 1]
                let low: UInt8 = byte == 0xE0 ? 0xA0 : byte == 0xF0 ? 0x90 : 0x80
                let high: UInt8 = byte == 0xED ? 0x9F : byte == 0xF4 ? 0x8F : 0xBF
                guard (low...high).contains(second),
                      bytes[(index + 2)..<(index + length)].allSatisfy({ (0x80...0xBF).contains($0) }) else {
                    return (of(byte: index, in: bytes), byte)
                }
            }
            index += length
        }
        return nil
    }
}

/// Turns Yams' errors into a place and a short message: no error dumps the file it came from,
/// and one that knows only a byte offset or a mapping's start is placed at the line that matters.
public enum YAMLDiagnostics {
    public static func describe(_ error: any Error, in text: String) -> (place: TextPlace, message: String) {
        guard let error = error as? YamlError else { return (TextPlace(line: 1, column: 1), "invalid YAML: \(error)") }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let detail = context.map { " \($0.text)" } ?? ""
            return (TextPlace(line: mark.line, column: mark.column), "invalid YAML: \(problem)\(detail)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.sorted()
            let start = TextPlace(line: context.mark.line, column: context.mark.column)
            let quoted = keys.map { "\"\($0)\"" }.joined(separator: ", ")
            if let key = keys.first, let (first, second) = secondKey(key, mappingAt: start, in: text) {
                return (second, "duplicate key \(quoted) (first at line \(first.line))")
            }
            return (start, "duplicate key \(quoted) in the mapping that starts here")
        case let .reader(problem, offset, _, _):
            return (TextPlace.of(byte: offset ?? 0, in: Array(text.utf8)), "invalid YAML: \(problem)")
        default:
            return (TextPlace(line: 1, column: 1), "invalid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
    }

    /// The lines of the first and second `key:` of a block mapping whose first key is at `start`.
    static func secondKey(_ key: String, mappingAt start: TextPlace, in text: String) -> (TextPlace, TextPlace)? {
        var found: [TextPlace] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where index + 1 >= start.line {
            let characters = Array(line)
            let column = start.column - 1
            guard characters.count > column else { continue }
            let head = index + 1 == start.line ? characters[column...] : characters[column...]
            let indent = characters[..<column]
            // On later lines the key stands at the mapping's column with only spaces before it.
            if index + 1 > start.line {
                if !indent.allSatisfy({ $0 == " " }) {
                    if !indent.allSatisfy({ $0 == " " || $0 == "-" }) || indent.contains("-") { break }
                }
                if head.first == " " { continue }
            }
            let rest = String(head)
            if rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':") {
                found.append(TextPlace(line: index + 1, column: start.column))
                if found.count == 2 { return (found[0], found[1]) }
            }
        }
        return nil
    }
}
