import Testing
@testable import SharecastHDHomeRun

@Suite struct DiscoveryPacketTests {
    /// What Jellyfin broadcasts (HdHomerunHost.DiscoverDevices): type 2, wildcard device type and id.
    static let jellyfin: [UInt8] = [0x00, 0x02, 0x00, 0x0c, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0x02, 0x04, 0xff, 0xff, 0xff, 0xff, 0x73, 0xcc, 0x7d, 0x8f]

    @Test func jellyfinsRequestIsAWildcardDiscover() throws {
        let request = try DiscoveryPacket.parseRequest(Self.jellyfin)
        #expect(request.deviceTypes == [0xFFFF_FFFF] && request.deviceID == 0xFFFF_FFFF)
        let ours = HDHomeRunDeviceID.generate()
        #expect(request.matches(deviceID: ours.value))
    }

    @Test func aRequestForAnotherDeviceOrTypeDoesNotMatch() throws {
        let ours = HDHomeRunDeviceID.generate()
        #expect(!DiscoveryPacket.Request(deviceTypes: [DiscoveryPacket.deviceTypeTuner], deviceID: ours.value ^ 0x10).matches(deviceID: ours.value))
        #expect(!DiscoveryPacket.Request(deviceTypes: [0x0000_0005], deviceID: nil).matches(deviceID: ours.value))
        #expect(DiscoveryPacket.Request(deviceTypes: [DiscoveryPacket.deviceTypeTuner], deviceID: ours.value).matches(deviceID: ours.value))
    }

    @Test func malformedPacketsNameTheOffset() {
        var badCRC = Self.jellyfin
        badCRC[19] ^= 1
        var longLength = Self.jellyfin
        longLength[3] = 0x40
        var badField = Self.jellyfin
        badField[5] = 0x05 // the device type claims 5 bytes: it runs into the next field
        let cases: [([UInt8], Int)] = [
            (Array(Self.jellyfin.prefix(6)), 6), (badCRC, 16), (longLength, 2), ([0x00, 0x03] + Self.jellyfin.dropFirst(2), 0),
            ([UInt8](repeating: 0, count: 2000), 1460),
        ]
        for (bytes, offset) in cases {
            #expect(throws: DiscoveryPacketError.self) { try DiscoveryPacket.parseRequest(bytes) }
            do {
                _ = try DiscoveryPacket.parseRequest(bytes)
            } catch {
                #expect(error.offset == offset, "\(error)")
            }
        }
        // A field whose length is wrong for its tag, with a valid CRC, is refused too.
        var resealed = Array(badField.prefix(16))
        let crc = DiscoveryPacket.crc32(resealed[...])
        resealed += [UInt8(crc & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8((crc >> 16) & 0xFF), UInt8(crc >> 24)]
        #expect(throws: DiscoveryPacketError.self) { try DiscoveryPacket.parseRequest(resealed) }
    }

    @Test func aReplyCarriesEveryFieldWithLongValuesInTwoLengthBytes() throws {
        let id = HDHomeRunDeviceID.generate()
        let long = "http://192.168.1.20:8085/hdhr/" + String(repeating: "x", count: 200)
        let bytes = DiscoveryPacket.encodeReply(.init(deviceID: id, tunerCount: 300, baseURL: "http://127.0.0.1:8085", lineupURL: long, deviceAuth: "auth"))
        #expect(bytes[0] == 0x00 && bytes[1] == 0x03)
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        #expect(length == bytes.count - 8)
        let crc = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8 | UInt32(bytes[bytes.count - 2]) << 16 | UInt32(bytes[bytes.count - 1]) << 24
        #expect(crc == DiscoveryPacket.crc32(bytes[0..<(bytes.count - 4)]))
        // Walk the fields as libhdhomerun does.
        var fields: [UInt8: [UInt8]] = [:]
        var offset = 4
        while offset < bytes.count - 4 {
            let tag = bytes[offset]
            var count = Int(bytes[offset + 1])
            offset += 2
            if count & 0x80 != 0 {
                count = (count & 0x7F) | Int(bytes[offset]) << 7
                offset += 1
            }
            fields[tag] = Array(bytes[offset..<offset + count])
            offset += count
        }
        #expect(fields[0x01] == [0, 0, 0, 1])
        #expect(fields[0x02].map { DiscoveryPacket.bigEndian($0[...]) } == id.value)
        #expect(fields[0x10] == [255])
        #expect(fields[0x27].map { String(decoding: $0, as: UTF8.self) } == long)
        #expect(fields[0x2B].map { String(decoding: $0, as: UTF8.self) } == "auth")
    }

    @Test func generatedDeviceIDsPassTheCheckDigitAndOthersDoNot() {
        for _ in 0..<1000 {
            let id = HDHomeRunDeviceID.generate()
            #expect(HDHomeRunDeviceID.checksum(id.value) == 0)
            #expect(HDHomeRunDeviceID(hex: id.hex) == id)
            #expect(HDHomeRunDeviceID(id.value ^ 0x1) == nil)
        }
        // Both ids peers use fail the check (../shared/notes/iptv-peers.md 1.3).
        #expect(HDHomeRunDeviceID(hex: "12345678") == nil && HDHomeRunDeviceID(hex: "12345670") == nil)
        #expect(HDHomeRunDeviceID(hex: "1234567") == nil && HDHomeRunDeviceID(hex: "FFFFFFFF") == nil)
    }
}
