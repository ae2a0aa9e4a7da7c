import Testing
@testable import SharecastTS

@Suite struct TSPacketAlignerTests {
    /// Feeds `bytes` in chunks of the given sizes, cycling, and collects what comes out.
    static func run(_ input: [UInt8], chunks: [Int], discontinuityAt: Int? = nil, aligner initial: TSPacketAligner = TSPacketAligner())
        -> (output: [UInt8], runs: [Int], joins: [Int64], aligner: TSPacketAligner) {
        var bytes = input
        var aligner = initial
        var output: [UInt8] = [], runs: [Int] = [], joins: [Int64] = []
        var offset = 0, step = 0
        bytes.withUnsafeMutableBytes { all in
            while offset < all.count {
                let size = min(chunks[step % chunks.count], all.count - offset)
                if offset == discontinuityAt { aligner.markDiscontinuity() }
                aligner.feed(UnsafeMutableRawBufferPointer(rebasing: all[offset..<(offset + size)])) { run, join in
                    output += run
                    runs.append(run.count)
                    if let join { joins.append(join) }
                }
                offset += size
                step += 1
            }
        }
        return (output, runs, joins, aligner)
    }

    @Test func oddChunksComeOutAsWholePacketsWithJoinPointsOnPATs() throws {
        let clip = try #require(TSClip.testPattern).bytes
        let result = Self.run(clip, chunks: [1, 187, 1000, 4096, 7, 16_384])
        let same = result.output == clip
        #expect(same, "output differs from the clip (\(result.output.count) of \(clip.count) bytes)")
        #expect(result.runs.allSatisfy { $0 % 188 == 0 })
        #expect(result.aligner.syncLosses == 0)
        // One keyframe every 2 s in an 8 s clip: four join points, each at a PAT.
        #expect(result.joins.count == 4)
        for join in result.joins {
            let packet = Array(clip[Int(join)..<Int(join) + 188])
            #expect(packet.withUnsafeBytes { TSPacket.pid($0) } == 0)
        }
    }

    @Test func aMarkedDiscontinuityFlagsTheNextPacketWithAPCR() throws {
        let clip = try #require(TSClip.testPattern).bytes
        let result = Self.run(clip, chunks: [188 * 10], discontinuityAt: 188 * 500)
        var flagged: [Int] = []
        result.output.withUnsafeBytes { all in
            for index in 0..<(all.count / 188) where TSPacket.hasDiscontinuityIndicator(UnsafeRawBufferPointer(rebasing: all[(index * 188)..<(index * 188 + 188)])) {
                flagged.append(index)
            }
        }
        #expect(flagged.count == 1)
        let first = try #require(flagged.first)
        #expect(first >= 500)
        let packet = Array(result.output[(first * 188)..<(first * 188 + 188)])
        #expect(packet.withUnsafeBytes { TSPacket.pcr($0) } != nil)
        // No PCR packet lies between the mark and the flagged one.
        for index in 500..<first {
            #expect(Array(result.output[(index * 188)..<(index * 188 + 188)]).withUnsafeBytes { TSPacket.pcr($0) } == nil)
        }
    }

    @Test func junkIsDroppedAndCountedAndAlignmentRecovers() throws {
        let clip = Array(try #require(TSClip.testPattern).bytes.prefix(188 * 50))
        var stream: [UInt8] = [1, 2, 3] + clip[0..<(188 * 20)]
        stream += [0x47, 9, 9, 9, 9]                      // a torn packet
        stream += clip[(188 * 20)...]
        for chunks in [[100, 333], [4096], [1], [188], [191, 7]] {
            let result = Self.run(stream, chunks: chunks)
            #expect(result.runs.allSatisfy { $0 % 188 == 0 })
            #expect(result.aligner.syncLosses >= 2)
            // Every packet that comes out is a genuine packet of the clip, in order; the damage
            // costs at most the packet next to each of the two bad spots.
            let packets = stride(from: 0, to: result.output.count, by: 188).map { Array(result.output[$0..<($0 + 188)]) }
            var next = 0
            let inOrder = packets.allSatisfy { packet in
                while next < 50, Array(clip[(next * 188)..<(next * 188 + 188)]) != packet { next += 1 }
                next += 1
                return next <= 50
            }
            #expect(inOrder, "chunks \(chunks): a packet came out that is not the clip's next one")
            #expect(packets.count >= 48, "chunks \(chunks): \(packets.count) of 50 packets")
        }
    }
}

@Suite struct TSQualityTests {
    /// The clip with three packets removed (two video, one PMT) and junk between two packets.
    @Test func injectedContinuityErrorsAndASyncLossGiveExactCounts() throws {
        let clip = try #require(TSClip.testPattern)
        var packets = stride(from: 0, to: clip.bytes.count, by: 188).map { Array(clip.bytes[$0..<($0 + 188)]) }
        let pidOf = { (packet: [UInt8]) in packet.withUnsafeBytes { TSPacket.pid($0) } }
        let video = packets.indices.filter { pidOf(packets[$0]) == 256 }
        let pmt = packets.indices.filter { pidOf(packets[$0]) == 4096 }
        let removed = Set([video[100], video[700], pmt[20]])
        #expect(removed.count == 3)
        let kept = packets.indices.filter { !removed.contains($0) }.map { packets[$0] }
        packets = kept
        var stream: [UInt8] = []
        for (index, packet) in packets.enumerated() {
            stream += packet
            if index == 400 { stream += [0x00, 0x47, 0x12, 0x47, 0x99] }
        }
        for chunks in [[188 * 7], [1000], [4096, 77]] {
            let result = TSPacketAlignerTests.run(stream, chunks: chunks)
            #expect(result.aligner.continuityErrors == 3, "chunks \(chunks)")
            #expect(result.aligner.syncLosses == 1, "chunks \(chunks)")
            #expect(result.aligner.packets == Int64(packets.count), "chunks \(chunks)")
        }
    }

    @Test func theLoopedTestPatternIsCleanAndItsPCRRateIsItsBitrate() throws {
        let clip = try #require(TSClip.testPattern)
        var generator = TestPatternGenerator(clip: clip, targetBitsPerSecond: 8_000_000)
        var stream = [UInt8](repeating: 0, count: 12 << 20)
        let count = stream.withUnsafeMutableBytes { generator.read(dueBy: 20 * TSPacket.pcrHz, into: $0) }
        stream.removeSubrange(count...)
        // The padding follows the video's packets, so the rate is only constant over a whole loop.
        let result = TSPacketAlignerTests.run(stream, chunks: [65536], aligner: TSPacketAligner(rateWindow: .seconds(8)))
        #expect(result.aligner.continuityErrors == 0)
        #expect(result.aligner.syncLosses == 0)
        let rate = Double(result.aligner.pcrBitsPerSecond)
        #expect(rate > 7_600_000 && rate < 8_400_000, "PCR rate \(rate)")
    }
}
