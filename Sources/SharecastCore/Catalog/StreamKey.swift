/// The secret part of a channel's Sharecast URL (`/stream/<key>`).
///
/// Keys are 192 bits from the system CSPRNG (getrandom on Linux), base64url without padding: long
/// enough that they cannot be guessed or enumerated, short enough to paste. They are made once per
/// channel id and persisted, so playlists handed to players keep working across restarts.
public enum StreamKey {
    public static let byteCount = 24

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: byteCount)
        for index in bytes.indices { bytes[index] = generator.next() }
        return base64URL(bytes)
    }

    /// A key as it may appear in a URL: the alphabet and length `generate()` produces.
    public static func isWellFormed(_ key: Substring) -> Bool {
        key.utf8.count == (byteCount * 4 + 2) / 3 && key.utf8.allSatisfy { byte in
            ChannelID.isAlphanumeric(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for byte in chunk { value = value << 8 | UInt32(byte) }
            value <<= UInt32(8 * (3 - chunk.count))
            let symbols = chunk.count + 1
            for position in 0..<symbols {
                out.append(alphabet[Int((value >> UInt32(18 - 6 * position)) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
