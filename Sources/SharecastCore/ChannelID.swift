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

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
