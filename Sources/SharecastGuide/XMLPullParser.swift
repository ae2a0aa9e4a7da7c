#if canImport(Glibc)
import Glibc
#endif

/// Why a guide was refused: where (line and column of the document, after decompression) and why.
public struct GuideError: Error, Equatable, CustomStringConvertible, Sendable {
    public var source: String
    public var line: Int
    public var column: Int
    public var reason: String

    public init(source: String, line: Int, column: Int, reason: String) {
        self.source = source
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String { line > 0 ? "\(source):\(line):\(column): \(reason)" : "\(source): \(reason)" }
}

/// A streaming XML reader for guides: bytes go in by the chunk (`feed`), events come out as soon
/// as they are complete (`next`), so a guide of any size is read in bounded memory.
///
/// It reads the XML that guides are made of, strictly: UTF-8 (or ISO-8859-1 when the declaration
/// says so), elements, attributes, text, CDATA, comments and processing instructions, the five
/// predefined entities and character references. A DOCTYPE is skipped, but one that declares
/// entities is refused, and so is a reference to any other entity: no expansion, so no entity
/// bomb. Names, attributes, text runs and depth have limits; breaking one is an error naming the
/// place, never a crash or an unbounded allocation.
public struct XMLPullParser {
    public enum Event: Equatable {
        case start(name: String, attributes: [(String, String)], selfClosing: Bool)
        case end(name: String)
        case text(String)

        public static func == (lhs: Event, rhs: Event) -> Bool {
            switch (lhs, rhs) {
            case let (.start(a, b, c), .start(x, y, z)): a == x && c == z && b.map(\.0) == y.map(\.0) && b.map(\.1) == y.map(\.1)
            case let (.end(a), .end(b)): a == b
            case let (.text(a), .text(b)): a == b
            default: false
            }
        }
    }

    public struct Limits: Sendable {
        public var maxNameBytes = 256
        public var maxAttributes = 64
        /// One text run or attribute value, or one tag.
        public var maxTextBytes = 1 << 20
        public var maxDepth = 64

        public init() {}
    }

    let source: String
    let limits: Limits
    private var buffer: [UInt8] = []
    private var position = 0
    private var ended = false
    private var stack: [String] = []
    private var sawRoot = false
    private var latin1 = false
    private var started = false
    /// Line and column of `position`, kept up to date as bytes are consumed.
    private var line = 1
    private var column = 1
    /// The line reached so far, for errors found above the parser (limits of the importer).
    public var currentLine: Int { line }

    public init(source: String, limits: Limits = Limits()) {
        self.source = source
        self.limits = limits
    }

    /// Appends bytes of the document.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        if position > 1 << 20, position > buffer.count / 2 {
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Says the document is complete: what is left must parse, and every element be closed.
    public mutating func finish() {
        ended = true
    }

    func error(_ reason: String) -> GuideError {
        GuideError(source: source, line: line, column: column, reason: reason)
    }

    /// The next event; nil when more bytes are needed (or, after `finish`, at the end).
    public mutating func next() throws(GuideError) -> Event? {
        if !started {
            guard try startDocument() else { return nil }
        }
        while position < buffer.count {
            if buffer[position] == UInt8(ascii: "<") {
                guard let event = try markup() else {
                    if ended { throw error("the document ends inside markup") }
                    return nil
                }
                if case .skip = event { continue }
                if case let .event(value) = event { return value }
            } else {
                // Text up to the next '<'; outside the root only whitespace may appear.
                guard let end = find(UInt8(ascii: "<"), from: position) else {
                    if ended {
                        if stack.isEmpty {
                            guard isWhitespace(position..<buffer.count) else { throw error("text outside the root element") }
                            advance(to: buffer.count)
                            continue
                        }
                        throw error("the document ends inside text")
                    }
                    if buffer.count - position > limits.maxTextBytes { throw error("a text run longer than \(limits.maxTextBytes) bytes") }
                    return nil
                }
                if end - position > limits.maxTextBytes { throw error("a text run longer than \(limits.maxTextBytes) bytes") }
                if stack.isEmpty {
                    guard isWhitespace(position..<end) else { throw error("text outside the root element") }
                    advance(to: end)
                    continue
                }
                let text = try decodeText(position..<end)
                advance(to: end)
                return .text(text)
            }
        }
        if ended {
            if !stack.isEmpty { throw error("the document ends with <\(stack[stack.count - 1])> open") }
            if !sawRoot { throw error("no root element") }
        }
        return nil
    }

    private enum Markup {
        case skip
        case event(Event)
    }

    /// Byte-order mark and XML declaration; false when more bytes are needed.
    private mutating func startDocument() throws(GuideError) -> Bool {
        if buffer.count - position < 3, !ended { return false }
        if buffer.count - position >= 3, buffer[position] == 0xEF, buffer[position + 1] == 0xBB, buffer[position + 2] == 0xBF { position += 3 }
        if buffer.count - position >= 2, (buffer[position] == 0xFE && buffer[position + 1] == 0xFF) || (buffer[position] == 0xFF && buffer[position + 1] == 0xFE) {
            throw error("UTF-16 guides are not read; convert it to UTF-8")
        }
        if hasPrefix("<?xml", at: position) {
            guard let end = find(sequence: [UInt8(ascii: "?"), UInt8(ascii: ">")], from: position) else {
                if ended || buffer.count - position > 4096 { throw error("an unterminated XML declaration") }
                return false
            }
            let declaration = String(decoding: buffer[position..<end], as: UTF8.self).lowercased()
            if let range = declaration.range(of: "encoding") {
                let rest = declaration[range.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
                let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
                switch name {
                case "utf-8", "utf8", "us-ascii", "ascii": break
                case "iso-8859-1", "latin1", "iso8859-1", "latin-1": latin1 = true
                default: throw error("encoding \"\(name)\" is not read; UTF-8 and ISO-8859-1 are")
                }
            }
            advance(to: end + 2)
        }
        started = true
        return true
    }

    private mutating func markup() throws(GuideError) -> Markup? {
        // Long enough to tell the kinds of markup apart (`<!DOCTYPE`, `<![CDATA[`).
        if buffer.count - position < 9, !ended { return nil }
        if hasPrefix("<!--", at: position) {
            guard let end = find(sequence: Array("-->".utf8), from: position + 4) else { return try tooLong("a comment") }
            advance(to: end + 3)
            return .skip
        }
        if hasPrefix("<![CDATA[", at: position) {
            guard !stack.isEmpty else { throw error("CDATA outside the root element") }
            guard let end = find(sequence: Array("]]>".utf8), from: position + 9) else { return try tooLong("a CDATA section") }
            let text = try decodeRaw(position + 9..<end)
            advance(to: end + 3)
            return .event(.text(text))
        }
        if hasPrefix("<!DOCTYPE", at: position) {
            return try doctype()
        }
        if hasPrefix("<?", at: position) {
            guard let end = find(sequence: [UInt8(ascii: "?"), UInt8(ascii: ">")], from: position + 2) else { return try tooLong("a processing instruction") }
            advance(to: end + 2)
            return .skip
        }
        if hasPrefix("<!", at: position) { throw error("markup declarations are not allowed here") }
        guard let end = tagEnd(from: position + 1) else { return try tooLong("a tag") }
        if buffer[position + 1] == UInt8(ascii: "/") {
            let name = try readName(position + 2..<end).name
            guard let open = stack.last else { throw error("</\(name)> closes nothing") }
            guard open == name else { throw error("</\(name)> closes <\(open)>") }
            advance(to: end + 1)
            stack.removeLast()
            return .event(.end(name: name))
        }
        var body = position + 1..<end
        let selfClosing = end > position + 1 && buffer[end - 1] == UInt8(ascii: "/")
        if selfClosing { body = body.lowerBound..<(end - 1) }
        let (name, afterName) = try readName(body)
        let attributes = try readAttributes(afterName..<body.upperBound)
        if stack.isEmpty {
            guard !sawRoot else { throw error("a second root element <\(name)>") }
            sawRoot = true
        }
        guard stack.count < limits.maxDepth else { throw error("elements nested deeper than \(limits.maxDepth)") }
        advance(to: end + 1)
        if !selfClosing { stack.append(name) }
        return .event(.start(name: name, attributes: attributes, selfClosing: selfClosing))
    }

    /// nil (wait for more) while the construct may still end; an error once it is too long.
    private func tooLong(_ what: String) throws(GuideError) -> Markup? {
        if ended || buffer.count - position > limits.maxTextBytes { throw error("\(what) that does not end within \(limits.maxTextBytes) bytes") }
        return nil
    }

    /// `<!DOCTYPE tv SYSTEM "xmltv.dtd">` is skipped; an internal subset is skipped too unless it
    /// declares entities (the one way to an entity bomb), which refuses the guide.
    private mutating func doctype() throws(GuideError) -> Markup? {
        var index = position + 9
        var quote: UInt8?
        var inSubset = false
        while index < buffer.count {
            let byte = buffer[index]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: "[") {
                inSubset = true
            } else if byte == UInt8(ascii: "]") {
                inSubset = false
            } else if inSubset, byte == UInt8(ascii: "<"), hasPrefix("<!ENTITY", at: index) {
                advance(to: index)
                throw error("the DOCTYPE declares entities; guides with entity declarations are refused")
            } else if byte == UInt8(ascii: ">"), !inSubset {
                advance(to: index + 1)
                return .skip
            }
            index += 1
            if index - position > limits.maxTextBytes { throw error("a DOCTYPE longer than \(limits.maxTextBytes) bytes") }
        }
        if ended { throw error("the document ends inside its DOCTYPE") }
        return nil
    }

    /// The '>' that ends a tag opened before `start`, skipping quoted attribute values.
    private func tagEnd(from start: Int) -> Int? {
        var quote: UInt8?
        var index = start
        let limit = min(buffer.count, start + limits.maxTextBytes)
        while index < limit {
            let byte = buffer[index]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                return index
            }
            index += 1
        }
        return nil
    }

    /// A name at the start of `range`, followed by a space, the range's end or `terminator`.
    private func readName(_ range: Range<Int>, endingAt terminator: UInt8? = nil) throws(GuideError) -> (name: String, end: Int) {
        var index = range.lowerBound
        while index < range.upperBound, isNameByte(buffer[index], first: index == range.lowerBound) { index += 1 }
        guard index > range.lowerBound else { throw error("a tag without a name") }
        guard index - range.lowerBound <= limits.maxNameBytes else { throw error("a name longer than \(limits.maxNameBytes) bytes") }
        if index < range.upperBound, !isSpace(buffer[index]), buffer[index] != terminator { throw error("a bad character in a name") }
        return (String(decoding: buffer[range.lowerBound..<index], as: UTF8.self), index)
    }

    private func readAttributes(_ range: Range<Int>) throws(GuideError) -> [(String, String)] {
        var result: [(String, String)] = []
        var index = range.lowerBound
        while true {
            while index < range.upperBound, isSpace(buffer[index]) { index += 1 }
            if index >= range.upperBound { return result }
            let (name, afterName) = try readName(index..<range.upperBound, endingAt: UInt8(ascii: "="))
            index = afterName
            while index < range.upperBound, isSpace(buffer[index]) { index += 1 }
            guard index < range.upperBound, buffer[index] == UInt8(ascii: "=") else { throw error("attribute \(name) has no value") }
            index += 1
            while index < range.upperBound, isSpace(buffer[index]) { index += 1 }
            guard index < range.upperBound, buffer[index] == UInt8(ascii: "\"") || buffer[index] == UInt8(ascii: "'") else {
                throw error("attribute \(name)'s value is not quoted")
            }
            let quote = buffer[index]
            var close = index + 1
            while close < range.upperBound, buffer[close] != quote { close += 1 }
            guard close < range.upperBound else { throw error("attribute \(name)'s value does not end") }
            guard !result.contains(where: { $0.0 == name }) else { throw error("attribute \(name) given twice") }
            guard result.count < limits.maxAttributes else { throw error("more than \(limits.maxAttributes) attributes") }
            result.append((name, try decodeText(index + 1..<close, attribute: true)))
            index = close + 1
            if index < range.upperBound, !isSpace(buffer[index]) { throw error("attributes must be separated by spaces") }
        }
    }

    /// Text with entity and character references replaced; '<' cannot occur (it ended the run).
    private func decodeText(_ range: Range<Int>, attribute: Bool = false) throws(GuideError) -> String {
        guard buffer[range].contains(UInt8(ascii: "&")) else { return try decodeRaw(range) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count)
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = buffer[index]
            guard byte == UInt8(ascii: "&") else {
                if attribute, byte == UInt8(ascii: "<") { throw error("'<' in an attribute value") }
                bytes.append(byte)
                index += 1
                continue
            }
            var end = index + 1
            while end < range.upperBound, buffer[end] != UInt8(ascii: ";"), end - index < 12 { end += 1 }
            guard end < range.upperBound, buffer[end] == UInt8(ascii: ";") else { throw error("an '&' that starts no reference (write &amp;)") }
            let name = String(decoding: buffer[index + 1..<end], as: UTF8.self)
            switch name {
            case "amp": bytes.append(UInt8(ascii: "&"))
            case "lt": bytes.append(UInt8(ascii: "<"))
            case "gt": bytes.append(UInt8(ascii: ">"))
            case "quot": bytes.append(UInt8(ascii: "\""))
            case "apos": bytes.append(UInt8(ascii: "'"))
            default:
                guard name.hasPrefix("#") else { throw error("reference to entity &\(name); (only the five XML entities are known)") }
                let digits = name.dropFirst()
                let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
                guard let value, let scalar = Unicode.Scalar(value), value == 0x9 || value == 0xA || value == 0xD || value >= 0x20 else {
                    throw error("character reference &\(name); names no allowed character")
                }
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            index = end + 1
        }
        return try decode(bytes[...])
    }

    private func decodeRaw(_ range: Range<Int>) throws(GuideError) -> String {
        try decode(buffer[range])
    }

    private func decode(_ bytes: ArraySlice<UInt8>) throws(GuideError) -> String {
        if latin1 { return String(bytes.map { Character(Unicode.Scalar($0)) }) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw error("bytes that are not UTF-8") }
        return text
    }

    /// Moves to `end`, keeping line and column. Newlines are found with `memchr`; the column
    /// counts characters (UTF-8 lead bytes) after the last one.
    private mutating func advance(to end: Int) {
        guard end > position else { return }
        let start = position
        buffer.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress else { return }
            var lineStart = start
            var cursor = start
            while cursor < end, let hit = memchr(base + cursor, 0x0A, end - cursor) {
                let offset = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                line += 1
                column = 1
                lineStart = offset + 1
                cursor = offset + 1
            }
            var index = lineStart
            while index < end {
                if bytes[index] & 0xC0 != 0x80 { column += 1 }
                index += 1
            }
        }
        position = end
    }

    private func hasPrefix(_ text: String, at index: Int) -> Bool {
        let bytes = text.utf8
        guard buffer.count - index >= bytes.count else { return false }
        var offset = index
        for byte in bytes {
            if buffer[offset] != byte { return false }
            offset += 1
        }
        return true
    }

    private func find(_ byte: UInt8, from start: Int) -> Int? {
        guard start < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { bytes -> Int? in
            guard let base = bytes.baseAddress, let hit = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
            return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
        }
    }

    private func find(sequence: [UInt8], from start: Int) -> Int? {
        guard let first = sequence.first else { return nil }
        var index = start
        while index + sequence.count <= buffer.count {
            if buffer[index] == first, buffer[index..<index + sequence.count].elementsEqual(sequence) { return index }
            index += 1
        }
        return nil
    }

    private func isWhitespace(_ range: Range<Int>) -> Bool {
        buffer[range].allSatisfy(isSpace)
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"), 0x80...0xFF: true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): !first
        default: false
        }
    }
}
