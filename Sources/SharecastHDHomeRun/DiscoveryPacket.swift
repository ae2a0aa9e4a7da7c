import CZlib

/// Why a discovery packet was dropped, with the byte offset where it went wrong.
public struct DiscoveryPacketError: Error, Equatable, CustomStringConvertible, Sendable {
    public var offset: Int
    public var reason: String
    public var description: String { "HDHomeRun packet, offset \(offset): \(reason)" }
}

/// SiliconDust's framing: `u16 type, u16 length` (big-endian), `length` bytes of tag-length-value
/// fields, then the CRC-32 of all that, little-endian. A value's length is one byte below 128, else
/// two (`0x80 | low 7 bits`, then the rest).
public enum DiscoveryPacket {
    public static let discoverRequest: UInt16 = 0x0002
    public static let discoverReply: UInt16 = 0x0003

    public enum Tag: UInt8 {
        case deviceType = 0x01
        case deviceID = 0x02
        case tunerCount = 0x10
        case lineupURL = 0x27
        case baseURL = 0x2A
        case deviceAuth = 0x2B
    }

    public static let deviceTypeTuner: UInt32 = 0x0000_0001
    public static let deviceTypeWildcard: UInt32 = 0xFFFF_FFFF

    /// Packets larger than this are not discovery requests (they carry two 4-byte fields).
    public static let maxRequestBytes = 1460

    /// A discover request: which device types and ids it asks for (absent: any).
    public struct Request: Equatable, Sendable {
        public var deviceTypes: [UInt32] = []
        public var deviceID: UInt32?

        public func matches(deviceID id: UInt32) -> Bool {
            let typeMatches = deviceTypes.isEmpty || deviceTypes.contains(deviceTypeTuner) || deviceTypes.contains(deviceTypeWildcard)
            let idMatches = deviceID.map { $0 == HDHomeRunDeviceID.wildcard || $0 == id } ?? true
            return typeMatches && idMatches
        }
    }

    /// Parses a discover request, checking its length, CRC and fields.
    public static func parseRequest(_ bytes: [UInt8]) throws(DiscoveryPacketError) -> Request {
        guard bytes.count <= maxRequestBytes else { throw DiscoveryPacketError(offset: maxRequestBytes, reason: "longer than \(maxRequestBytes) bytes") }
        guard bytes.count >= 8 else { throw DiscoveryPacketError(offset: bytes.count, reason: "shorter than a frame (8 bytes)") }
        let type = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard type == discoverRequest else { throw DiscoveryPacketError(offset: 0, reason: "type 0x\(hex(type)) is not a discover request (0x0002)") }
        // Bytes after the CRC are ignored, as SiliconDust's library does.
        guard length <= bytes.count - 8 else {
            throw DiscoveryPacketError(offset: 2, reason: "payload length \(length) runs past the packet's \(bytes.count) bytes")
        }
        let crcOffset = 4 + length
        let sent = UInt32(bytes[crcOffset]) | UInt32(bytes[crcOffset + 1]) << 8 | UInt32(bytes[crcOffset + 2]) << 16 | UInt32(bytes[crcOffset + 3]) << 24
        guard sent == crc32(bytes[0..<crcOffset]) else { throw DiscoveryPacketError(offset: crcOffset, reason: "CRC-32 mismatch") }
        var request = Request()
        var offset = 4
        while offset < crcOffset {
            let tagOffset = offset
            let tag = bytes[offset]
            offset += 1
            guard offset < crcOffset else { throw DiscoveryPacketError(offset: offset, reason: "tag 0x\(hex(tag)) has no length") }
            var valueLength = Int(bytes[offset])
            offset += 1
            if valueLength & 0x80 != 0 {
                guard offset < crcOffset else { throw DiscoveryPacketError(offset: offset, reason: "tag 0x\(hex(tag)): length cut off") }
                valueLength = (valueLength & 0x7F) | Int(bytes[offset]) << 7
                offset += 1
            }
            guard valueLength <= crcOffset - offset else {
                throw DiscoveryPacketError(offset: tagOffset, reason: "tag 0x\(hex(tag)): \(valueLength) bytes announced, \(crcOffset - offset) left")
            }
            let value = bytes[offset..<offset + valueLength]
            offset += valueLength
            switch Tag(rawValue: tag) {
            case .deviceType:
                guard valueLength == 4 else { throw DiscoveryPacketError(offset: tagOffset, reason: "device type of \(valueLength) bytes, expected 4") }
                request.deviceTypes.append(bigEndian(value))
            case .deviceID:
                guard valueLength == 4 else { throw DiscoveryPacketError(offset: tagOffset, reason: "device id of \(valueLength) bytes, expected 4") }
                request.deviceID = bigEndian(value)
            default:
                break // Unknown fields are skipped, as the library does.
            }
        }
        return request
    }

    /// What a reply announces.
    public struct Reply: Equatable, Sendable {
        public var deviceID: HDHomeRunDeviceID
        public var tunerCount: Int
        public var baseURL: String
        public var lineupURL: String
        public var deviceAuth: String

        public init(deviceID: HDHomeRunDeviceID, tunerCount: Int, baseURL: String, lineupURL: String, deviceAuth: String) {
            self.deviceID = deviceID
            self.tunerCount = tunerCount
            self.baseURL = baseURL
            self.lineupURL = lineupURL
            self.deviceAuth = deviceAuth
        }
    }

    /// A discover reply: device type (tuner), device id, tuner count (at most 255), base URL,
    /// lineup URL and device auth, framed and sealed. Strings are cut at 16 383 bytes, the most a
    /// two-byte length holds.
    public static func encodeReply(_ reply: Reply) -> [UInt8] {
        var payload: [UInt8] = []
        func field(_ tag: Tag, _ value: [UInt8]) {
            let value = value.prefix(0x3FFF)
            payload.append(tag.rawValue)
            if value.count < 0x80 {
                payload.append(UInt8(value.count))
            } else {
                payload.append(UInt8(0x80 | (value.count & 0x7F)))
                payload.append(UInt8(value.count >> 7))
            }
            payload.append(contentsOf: value)
        }
        field(.deviceType, bigEndianBytes(deviceTypeTuner))
        field(.deviceID, bigEndianBytes(reply.deviceID.value))
        field(.tunerCount, [UInt8(min(max(reply.tunerCount, 0), 255))])
        field(.baseURL, Array(reply.baseURL.utf8))
        field(.lineupURL, Array(reply.lineupURL.utf8))
        field(.deviceAuth, Array(reply.deviceAuth.utf8))
        var frame: [UInt8] = [UInt8(discoverReply >> 8), UInt8(discoverReply & 0xFF), UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        frame += payload
        let crc = crc32(frame[...])
        frame += [UInt8(crc & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8((crc >> 16) & 0xFF), UInt8(crc >> 24)]
        return frame
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: CZlib.crc32(0, buffer.baseAddress, uInt(buffer.count)))
        }
    }

    static func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func hex<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16)
        let width = MemoryLayout<T>.size * 2
        return String(repeating: "0", count: max(width - digits.count, 0)) + digits
    }
}
