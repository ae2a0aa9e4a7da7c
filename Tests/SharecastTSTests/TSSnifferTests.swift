import Testing
@testable import SharecastTS

@Suite struct TSSnifferTests {
    static func packets(_ count: Int, offset: Int = 0) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xAB, count: offset)
        for _ in 0..<count { bytes += [TSPacket.syncByte] + [UInt8](repeating: 0, count: TSPacket.size - 1) }
        return bytes
    }

    @Test func aChunkWithThreeAlignedPacketsDecidesAtOnceWithoutHoldingIt() {
        var sniffer = TSSniffer()
        let chunk = Self.packets(4, offset: 17)
        #expect(chunk.withUnsafeBytes { sniffer.inspect($0) } == .transportStream(held: nil))
    }

    @Test func smallChunksAreHeldAndHandedBackWhole() {
        var sniffer = TSSniffer()
        let stream = Self.packets(3)
        var verdicts: [TSSniffer.Verdict] = []
        for start in stride(from: 0, to: stream.count, by: 100) {
            let chunk = Array(stream[start..<min(start + 100, stream.count)])
            verdicts.append(chunk.withUnsafeBytes { sniffer.inspect($0) })
        }
        // The third sync byte (offset 376) arrives with the fourth chunk: everything so far comes back.
        #expect(verdicts.prefix(3).allSatisfy { $0 == .needMore })
        #expect(verdicts[3] == .transportStream(held: Array(stream.prefix(400))))
    }

    @Test func anHTMLPageIsRefusedAtTheLimit() {
        var sniffer = TSSniffer(limit: 1000)
        let page = Array("<!DOCTYPE html><html>".utf8) + [UInt8](repeating: 0x20, count: 2000)
        guard case let .notTransportStream(reason) = page.withUnsafeBytes({ sniffer.inspect($0) }) else {
            Issue.record("an HTML page passed as TS")
            return
        }
        #expect(reason.contains("HTML page"))
    }

    @Test func syncBytesThatAreNotOnePacketApartAreNotEnough() {
        var sniffer = TSSniffer(limit: 1000)
        let bytes = [UInt8](repeating: TSPacket.syncByte, count: 100) + [UInt8](repeating: 0, count: 1000)
        #expect(bytes.withUnsafeBytes { sniffer.inspect($0) } != .transportStream(held: nil))
        #expect(sniffer.heldBytes == 0, "a refused connection's bytes are let go")
    }
}
