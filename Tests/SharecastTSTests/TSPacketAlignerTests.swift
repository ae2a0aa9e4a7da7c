import Testing
@testable import SharecastTS

@Suite struct TSPacketAlignerTests {
    /// Feeds `bytes` in chunks of the given sizes, cycling, and collects what comes out.
    static func run(_ input: [UInt8], chunks: [Int], discontinuityAt: Int? = nil) -> (output: [UInt8], runs: [Int], joins: [Int64], aligner: TSPacketAligner) {
        var bytes = input
        var aligner = TSPacketAligner()
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
