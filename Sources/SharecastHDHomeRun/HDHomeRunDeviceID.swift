/// An HDHomeRun device id: 32 bits shown as 8 hex digits, the last a check digit that SiliconDust's
/// library (`hdhomerun_discover_validate_device_id`) and Plex verify. Generated once and stored:
/// a media server keys the tuner (and its guide mapping) on it.
public struct HDHomeRunDeviceID: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let value: UInt32

    /// Matches any device in a discover request.
    public static let wildcard: UInt32 = 0xFFFF_FFFF

    static let lookup: [UInt32] = [0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0]

    /// nil unless `value` passes the check digit.
    public init?(_ value: UInt32) {
        guard Self.checksum(value) == 0, value != Self.wildcard else { return nil }
        self.value = value
    }

    /// 8 hex digits (either case), checked.
    public init?(hex: String) {
        guard hex.utf8.count == 8, let value = UInt32(hex, radix: 16) else { return nil }
        self.init(value)
    }

    /// A new id: `1` then 6 random hex digits then the check digit. Ids whose first three
    /// digits name SiliconDust's legacy models (which libhdhomerun treats differently) are skipped.
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> HDHomeRunDeviceID {
        while true {
            let body = 0x1000_0000 | (UInt32.random(in: 0...0x00FF_FFFF, using: &generator) << 4)
            guard ![0x100, 0x101, 0x102, 0x103, 0x111, 0x120, 0x121, 0x122].contains(body >> 20) else { continue }
            if let id = HDHomeRunDeviceID(body | checksum(body)) { return id }
        }
    }

    public static func generate() -> HDHomeRunDeviceID {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// The XOR of the nibbles, the even ones (from the most significant) through the table.
    static func checksum(_ value: UInt32) -> UInt32 {
        var sum: UInt32 = 0
        for index in 0..<8 {
            let nibble = (value >> UInt32(28 - 4 * index)) & 0xF
            sum ^= index.isMultiple(of: 2) ? lookup[Int(nibble)] : nibble
        }
        return sum
    }

    public var hex: String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    public var description: String { hex }
}
