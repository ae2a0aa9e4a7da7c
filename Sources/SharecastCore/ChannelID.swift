import Foundation

/// Channel identifiers: short, stable, URL- and label-safe names such as `bbc-one-hd`.
///
/// They appear as the `channel` label of every metric and in the monitor API, so they are limited to
/// letters, digits, `.`, `_` and `-`, at most 64 characters.
public enum ChannelID {
    public static let maxLength = 64

    public static func isValid(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= maxLength, let first = id.utf8.first, isAlphanumeric(first) else { return false }
        return id.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// A valid id made from free text (a channel name or tvg-id): lower-cased, runs of other characters
    /// folded into one `-`, accents dropped, cut to the maximum length. Empty input gives "channel".
    public static func slug(_ text: String) -> String {
        var out = ""
        var pendingDash = false
        let folded = text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).lowercased()
        for scalar in folded.unicodeScalars {
            if scalar.isASCII, let byte = UInt8(exactly: scalar.value), isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") {
                if pendingDash, !out.isEmpty { out.append("-") }
                pendingDash = false
                out.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
            if out.utf8.count >= maxLength - 4 { break }
        }
        while let first = out.utf8.first, !isAlphanumeric(first) { out.removeFirst() }
        return out.isEmpty ? "channel" : out
    }

    /// The name part of a provider channel's id, made from the name alone: its slug (with
    /// full-width letters folded too), and when the name has letters or digits the slug cannot
    /// show (日本テレビ, Первый канал) a stable hash of the whole name after it. So every name
    /// has its own id whatever its script, and the id never depends on the file's order.
    public static func nameComponent(_ name: String, maxLength: Int = ChannelID.maxLength) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil).lowercased()
        var slug = ""
        var pendingDash = false
        var dropped = false
        for scalar in folded.unicodeScalars {
            if scalar.isASCII, let byte = UInt8(exactly: scalar.value), isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") {
                if pendingDash, !slug.isEmpty { slug.append("-") }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                if scalar.properties.isAlphabetic || scalar.properties.numericType != nil { dropped = true }
                pendingDash = true
            }
        }
        while let first = slug.utf8.first, !isAlphanumeric(first) { slug.removeFirst() }
        guard dropped || slug.isEmpty else { return String(slug.prefix(maxLength)) }
        let hash = stableHash(name.precomposedStringWithCanonicalMapping)
        let room = max(0, maxLength - hash.count - 1)
        var head = String(slug.prefix(room))
        while let last = head.utf8.last, !isAlphanumeric(last) { head.removeLast() }
        return head.isEmpty ? hash : "\(head)-\(hash)"
    }

    /// Eight hex digits of FNV-1a (64 bits, folded) over the UTF-8 bytes: the same on every
    /// machine and every version, unlike Swift's seeded `Hasher`.
    public static func stableHash(_ text: String) -> String {
        var hasher = StableHash()
        hasher.mix(text)
        let hash = hasher.value
        let folded = UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
        let digits = String(folded, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
