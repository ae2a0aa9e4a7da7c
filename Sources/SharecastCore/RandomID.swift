import Foundation

/// Identifiers for sessions and viewers, made from the standard library's system generator.
///
/// Foundation's `UUID()` on Linux reads `/dev/urandom` through a file descriptor; when the process
/// has run out of descriptors (a flood of connections) it returned the all-zero UUID, every session
/// and viewer got the same id, and the unique `client_id` then failed every history batch. The
/// standard library's generator uses the `getrandom` system call, which needs no descriptor.
public enum RandomID {
    /// A random (version 4, RFC 9562) UUID.
    public static func uuid() -> UUID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64, low = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (8 * UInt64(index)))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (8 * UInt64(index)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

extension UUID {
    /// The form Sharecast shows and stores (lower case, as in the monitor API and RFC 9562's
    /// examples): one spelling everywhere, so an id copied from the API finds its history rows.
    public var lowercasedString: String { uuidString.lowercased() }
}
