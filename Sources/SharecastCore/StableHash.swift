/// 64-bit FNV-1a: the same on every machine, run and version, unlike Swift's seeded `Hasher`,
/// for names and keys that are stored or sent (channel ids, the guide's ETag and cache files).
public struct StableHash: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// Mixes in the UTF-8 bytes of `text`.
    public mutating func mix(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    /// Mixes in `text` and a separator, so ("ab", "c") and ("a", "bc") differ.
    public mutating func mixField(_ text: String) {
        mix(text)
        value ^= 0xFF
        value = value &* 0x0000_0100_0000_01B3
    }
}
