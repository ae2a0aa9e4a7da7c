import Testing
@testable import SharecastTS

@Suite struct TestPatternLoopTests {
    let clip: TSClip

    init() throws {
        clip = try #require(TSClip.testPattern)
    }

    @Test func builtInClipLoopsEveryEightSeconds() {
        #expect(clip.loopDuration90k == 8 * 90_000)
        #expect(clip.schedule.first == 0)
        #expect(clip.schedule.last.map { $0 < clip.loopDuration27M } == true)
        #expect(zip(clip.schedule, clip.schedule.dropFirst()).allSatisfy { $0 <= $1 })
    }

    /// Reads three loops and checks what a decoder checks at each loop point: continuity counters
    /// never skip, and PCR and DTS keep rising across the seam.
    @Test func loopPointIsSeamless() {
        var generator = TestPatternGenerator(clip: clip)
        let total = clip.packetCount * 3
        var stream = [UInt8](repeating: 0, count: total * TSPacket.size)
        let written = stream.withUnsafeMutableBytes { generator.read(dueBy: .max, into: $0) }
        #expect(written == stream.count)

        var lastCC: [UInt16: UInt8] = [:]
        var lastPCR: Int64 = -1
        var lastDTS: [UInt16: Int64] = [:]
        var continuityErrors = 0, clockRegressions = 0, timestampRegressions = 0
        stream.withUnsafeBytes { all in
            for index in 0..<total {
                let packet = UnsafeRawBufferPointer(rebasing: all[(index * 188)..<((index + 1) * 188)])
                #expect(TSPacket.isSynced(packet))
                let pid = TSPacket.pid(packet)
                if TSPacket.hasPayload(packet) {
                    let cc = TSPacket.continuityCounter(packet)
                    if let previous = lastCC[pid], (previous + 1) & 0x0F != cc { continuityErrors += 1 }
                    lastCC[pid] = cc
                }
                if let pcr = TSPacket.pcr(packet) {
                    if pcr <= lastPCR { clockRegressions += 1 }
                    lastPCR = pcr
                }
                if let dts = TSPacket.dts(packet) ?? TSPacket.pts(packet), TSPacket.pid(packet) != 0 {
                    if TSPacket.dts(packet) != nil, let previous = lastDTS[pid], dts <= previous { timestampRegressions += 1 }
                    if TSPacket.dts(packet) != nil { lastDTS[pid] = dts }
                }
            }
        }
        #expect(continuityErrors == 0)
        #expect(clockRegressions == 0)
        #expect(timestampRegressions == 0)
    }

    @Test func pacingReleasesOnlyWhatIsDue() {
        var generator = TestPatternGenerator(clip: clip)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        // One second in: about one second's worth of the clip's rate, never the whole clip.
        let bytes = buffer.withUnsafeMutableBytes { generator.read(dueBy: TSPacket.pcrHz, into: $0) }
        let expected = Double(clip.bitsPerSecond) / 8
        #expect(Double(bytes) > expected * 0.5 && Double(bytes) < expected * 1.5)
        #expect(generator.nextDue > TSPacket.pcrHz)
        // Nothing more is due at the same instant.
        #expect(buffer.withUnsafeMutableBytes { generator.read(dueBy: TSPacket.pcrHz, into: $0) } == 0)
    }

    @Test func paddingRaisesTheRateWithNullPackets() {
        var plain = TestPatternGenerator(clip: clip)
        var padded = TestPatternGenerator(clip: clip, targetBitsPerSecond: 8_000_000)
        var buffer = [UInt8](repeating: 0, count: 8 << 20)
        let plainBytes = buffer.withUnsafeMutableBytes { plain.read(dueBy: 2 * TSPacket.pcrHz, into: $0) }
        let paddedBytes = buffer.withUnsafeMutableBytes { padded.read(dueBy: 2 * TSPacket.pcrHz, into: $0) }
        let ratio = Double(paddedBytes) / Double(plainBytes)
        #expect(ratio > 8_000_000 / Double(clip.bitsPerSecond) * 0.8)
    }

    @Test func rejectsClipsThatAreNotTransportStreams() {
        #expect(throws: TSClipError.notPacketAligned(length: 100)) { try TSClip(bytes: [UInt8](repeating: 0x47, count: 100)) }
        #expect(throws: TSClipError.lostSync(packet: 0)) { try TSClip(bytes: [UInt8](repeating: 0, count: 188)) }
        var noClock = [UInt8](repeating: 0xFF, count: 376)
        noClock[0] = 0x47; noClock[188] = 0x47
        #expect(throws: TSClipError.noClock) { try TSClip(bytes: noClock) }
    }
}
